"""``BackendProcess``: the built-in backend as a child process of the app. It listens on a free
loopback port with a token of its own, serves a real session over the loopback, stops on request,
says why when it cannot start, and never outlives the app that started it (even a killed one)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from backend_wsclient import LiveClient, http_get, silence, tone

from app.backend.process import BACKGROUND_NICE, BackendProcess, BackendStartError, backend_command

ROOT = Path(__file__).resolve().parents[2]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie child of ours still answers kill(0): it has exited
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")


def wait_until_gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return gone(pid)


def test_the_command_runs_this_interpreter_unless_frozen() -> None:
    assert backend_command("--port", "0") == [sys.executable, "-m", "app.backend", "--port", "0"]


async def test_a_child_backend_listens_on_loopback_with_its_own_token_and_serves_a_session() -> None:
    backend = BackendProcess("simulated", extra_args=["--rtf", "0.05", "--schedule", "0.05@0"])
    backend.start()
    try:
        assert backend.running and backend.pid != os.getpid()
        assert backend.ws_url.startswith("ws://127.0.0.1:") and backend.ws_url.endswith("/ws/live-listener")
        assert len(backend.token) >= 24
        assert backend.token not in " ".join(backend.command())  # never on a command line others can read
        http = backend.ws_url.replace("ws://", "http://").removesuffix("/ws/live-listener")
        assert (await http_get(http))[0] == 401  # without its token, nobody else on the machine gets in
        client = await LiveClient.open(backend.ws_url, {"x-echopanel-token": backend.token})
        await client.start()
        await client.send_audio(tone(0.4) + silence(0.4))
        summary = await client.stop()
        assert len(summary["json"]["transcript"]) == 1
        assert await client.wait_closed() == 1000
    finally:
        pid = backend.pid
        backend.stop()
    assert pid is not None and gone(pid) and not backend.running
    backend.stop()  # idempotent


def thread_niceness(pid: int) -> list[int]:
    """The niceness of every thread of ``pid`` (field 19 of /proc/<pid>/task/<tid>/stat)."""
    return [int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])
            for task in Path(f"/proc/{pid}/task").iterdir()]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads thread priorities from /proc")
async def test_every_thread_of_the_child_runs_below_the_apps_priority() -> None:
    """The recognizer's bursts must not keep the app's event loop waiting for a CPU."""
    backend = BackendProcess("simulated", extra_args=["--rtf", "0.05", "--schedule", "0.05@0"])
    backend.start()
    try:
        client = await LiveClient.open(backend.ws_url, {"x-echopanel-token": backend.token})
        await client.start()
        await client.send_audio(tone(0.4) + silence(0.4))
        await client.stop()  # a session served: the recognizer's threads exist now
        assert backend.pid is not None
        assert set(thread_niceness(backend.pid)) == {min(19, os.nice(0) + BACKGROUND_NICE)}
    finally:
        backend.stop()


def test_a_child_that_cannot_start_says_why() -> None:
    backend = BackendProcess("simulated", extra_args=["--schedule", "fast@10"])
    with pytest.raises(BackendStartError, match=r"exited at start.*schedule"):
        backend.start()
    assert not backend.running


def test_a_started_child_can_be_started_again_after_a_stop() -> None:
    backend = BackendProcess("simulated")
    backend.start()
    first = backend.ws_url
    backend.stop()
    backend.start()
    try:
        assert backend.running and backend.ws_url.startswith("ws://127.0.0.1:") and first
    finally:
        backend.stop()


APP = textwrap.dedent("""
    import os, sys
    from app.backend.process import BackendProcess
    backend = BackendProcess("simulated")
    backend.start()
    print(backend.pid, flush=True)
    sys.stdin.read()  # until the test kills us
""")


def test_the_child_does_not_outlive_an_app_that_was_killed() -> None:
    """SIGKILL: the app runs no clean-up at all; the child sees its stdin close and stops."""
    app = subprocess.Popen([sys.executable, "-c", APP], cwd=ROOT, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None
        child = int(app.stdout.readline())
        assert not gone(child)
        app.kill()
        app.wait()
        assert wait_until_gone(child, within=20.0), f"backend {child} outlived the killed app"
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
