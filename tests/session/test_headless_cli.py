"""Headless mode as a user runs it: a subprocess, replay WAVs, JSON-lines events, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.messages import Source

ROOT = Path(__file__).resolve().parents[2]


def headless(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "app.headless", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_replay_run_prints_the_required_events_and_exits_0(wavs: dict[Source, Path], tmp_path: Path) -> None:
    result = headless("--embedded-recognizer", "simulated", "--replay-system", str(wavs[Source.SYSTEM]),
                      "--replay-mic", str(wavs[Source.MIC]), "--events", "-", "--encoding", "json",
                      "--throttle", "on", "--log-file", str(tmp_path / "h.log"))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = {e["event"] for e in events}
    assert {"state", "status", "metrics", "transcript", "level", "summary", "session_end"} <= kinds
    assert events[-1]["event"] == "session_end"
    end = events[-1]
    assert end["outcome"] == "summary" and end["reconnects"] == 0 and end["server_dropped_frames"] == 0
    for src in ("system", "mic"):
        counts = end["sources"][src]
        assert counts["captured_frames"] == counts["sent_frames"] > 100 and counts["dropped_frames"] == 0
    assert {e["source"] for e in events if e["event"] == "transcript"} == {"system", "mic"}
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--server", "ftp://nowhere"], "Unsupported scheme"),
        (["--server", "host name with spaces"], "contains spaces"),
        (["--replay-system", "/no/such/file.wav"], "does not exist"),
        (["--duration", "-3"], "--duration"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line_and_no_traceback(
    args: list[str], expected: str, tmp_path: Path, wavs: dict[Source, Path]
) -> None:
    extra = [] if "--replay-system" in args else ["--replay-system", str(wavs[Source.SYSTEM])]
    result = headless(*args, *extra, "--log-file", str(tmp_path / "h.log"), timeout=30)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_token_exits_non_zero_with_one_line(wavs: dict[Source, Path], tmp_path: Path) -> None:
    """A backend that wants a token, given the wrong one through ECHOPANEL_TOKEN."""
    from app.backend import BackendConfig, EmbeddedBackend

    backend = EmbeddedBackend(BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", token="good"))
    backend.start()
    try:
        result = headless("--server", backend.ws_url, "--replay-mic", str(wavs[Source.MIC]),
                          "--log-file", str(tmp_path / "h.log"), env={"ECHOPANEL_TOKEN": "bad"}, timeout=30)
    finally:
        backend.stop()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the token" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_sigint_stops_gracefully_with_flush_stop_and_summary(tmp_path: Path) -> None:
    import signal

    from sessionkit import bursts, write_wav

    path = write_wav(tmp_path / "long.wav", bursts(30.0, 440.0)[0])
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.headless", "--embedded-recognizer", "simulated",
         "--replay-system", str(path), "--events", "-", "--log-file", str(tmp_path / "h.log")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    events = []
    try:
        for line in proc.stdout:  # wait until audio flows, then interrupt like Ctrl-C
            events.append(json.loads(line))
            if events[-1]["event"] == "metrics":
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    events += [json.loads(line) for line in out.splitlines()]
    assert proc.returncode == 0, err
    end = events[-1]
    assert end["event"] == "session_end" and end["outcome"] == "summary"
    counts = end["sources"]["system"]
    assert counts["captured_frames"] == counts["sent_frames"] < 1500  # stopped early, nothing left behind
    assert any(e["event"] == "state" and e["state"] == "stopping" for e in events)
