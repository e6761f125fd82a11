"""``python -m app.backend`` as a process: prints where it listens, serves, stops cleanly on signals."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from backend_wsclient import LiveClient, http_get, silence, tone

ROOT = Path(__file__).resolve().parents[2]


def launch(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.backend", "--port", "0", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )


def listening_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.fullmatch(r"listening on (ws://127\.0\.0\.1:\d+/ws/live-listener)\n", line)
    assert match, f"unexpected first line {line!r}; stderr: {proc.stderr.read() if proc.stderr else ''}"
    return match.group(1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_cli_serves_a_session_and_stops_cleanly_on_a_signal(sig: signal.Signals) -> None:
    proc = launch("--recognizer", "simulated", "--rtf", "0.05", "--schedule", "0.05@0",
                  env={"ECHOPANEL_WS_AUTH_TOKEN": "tok"})
    try:
        url = listening_url(proc)
        http = url.replace("ws://", "http://").removesuffix("/ws/live-listener")
        assert (await http_get(http))[0] == 401  # token from the environment
        client = await LiveClient.open(url, {"x-echopanel-token": "tok"})
        await client.start()
        await client.send_audio(tone(0.4) + silence(0.4))
        summary = await client.stop()
        assert len(summary["json"]["transcript"]) == 1
        assert await client.wait_closed() == 1000
        proc.send_signal(sig)
        _, stderr = await asyncio.to_thread(proc.communicate, timeout=15)  # the loop keeps running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_cli_rejects_a_bad_schedule_with_a_message() -> None:
    proc = launch("--schedule", "fast@10")
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "RTF@SECONDS" in stderr and "Traceback" not in stderr


def test_cli_reports_a_busy_port_without_a_traceback() -> None:
    first = launch("--recognizer", "simulated")
    try:
        port = listening_url(first).rsplit(":", 1)[1].split("/")[0]
        second = subprocess.run(
            [sys.executable, "-m", "app.backend", "--recognizer", "simulated", "--port", port],
            cwd=ROOT, capture_output=True, text=True, timeout=30,
        )
    finally:
        first.terminate()
        first.communicate(timeout=15)
    assert second.returncode == 2
    assert "--port" in second.stderr and "Traceback" not in second.stderr


async def test_sigterm_closes_a_live_session_with_1012_and_no_summary() -> None:
    """As the real server (uvicorn) on SIGTERM: every live socket gets 1012 at once; the audio it
    still holds is never transcribed."""
    proc = launch("--recognizer", "simulated", "--rtf", "0.3")
    try:
        client = await LiveClient.open(listening_url(proc))
        await client.start()
        await client.send_audio(tone(1.0), speed=None)
        proc.send_signal(signal.SIGTERM)
        assert await client.wait_closed() == 1012
        _, stderr = await asyncio.to_thread(proc.communicate, timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert not client.of_type("final_summary") and not client.of_type("asr_final")
    assert proc.returncode == 0 and "Traceback" not in stderr


async def test_verbose_logging_never_shows_the_token() -> None:
    token = "cli-secret-7e2b9d"
    proc = launch("--recognizer", "simulated", "-v", "--token", token)
    try:
        url = listening_url(proc)
        client = await LiveClient.open(url, {"Authorization": f"Bearer {token}", "x-echopanel-token": token})
        await client.start()
        await client.send_audio(tone(0.3) + silence(0.3))
        await client.stop()
        http = url.replace("ws://", "http://").removesuffix("/ws/live-listener")
        assert (await http_get(http, f"/health?token={token}"))[0] == 401
        proc.send_signal(signal.SIGTERM)
        out, stderr = await asyncio.to_thread(proc.communicate, timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "< GET /ws/live-listener" in stderr, "debug logging was not on"
    assert token not in stderr and token not in out
    assert "[redacted]" in stderr


def read_rest(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=15)


async def test_listening_on_all_interfaces_prints_the_real_address_and_warns_without_a_token() -> None:
    proc = launch("--recognizer", "simulated", "--host", "0.0.0.0", env={"ECHOPANEL_WS_AUTH_TOKEN": ""})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"listening on ws://0\.0\.0\.0:(\d+)/ws/live-listener\n", line)
        assert match, line
        status, _ = await http_get(f"http://127.0.0.1:{match.group(1)}")
        assert status == 200
        _, stderr = await asyncio.to_thread(read_rest, proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "WARNING" in stderr and "WITHOUT a token" in stderr  # on stderr, and in the log
    assert stderr.count("WITHOUT a token") == 2


def test_a_token_silences_the_warning() -> None:
    proc = launch("--recognizer", "simulated", "--host", "0.0.0.0", "--token", "t")
    try:
        listening_line = proc.stdout.readline() if proc.stdout else ""
        _, stderr = read_rest(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert listening_line.startswith("listening on ws://0.0.0.0:")
    assert "WITHOUT a token" not in stderr


def test_a_host_name_is_reported_as_the_addresses_it_resolved_to() -> None:
    proc = launch("--recognizer", "simulated", "--host", "localhost")
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        out, _ = read_rest(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    lines = [first] + [x + "\n" for x in out.splitlines() if "listening on" in x]
    assert re.fullmatch(r"listening on ws://(127\.0\.0\.1|\[::1\]):\d+/ws/live-listener\n", lines[0]), lines
    assert all("localhost" not in x for x in lines)
    assert all(re.fullmatch(r"also listening on ws://(127\.0\.0\.1|\[::1\]):\d+/ws/live-listener\n", x)
               for x in lines[1:]), lines
