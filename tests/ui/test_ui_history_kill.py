"""``kill -9`` of the desktop app mid-meeting: the real ``python -m app --start`` (offscreen) records
system audio from the virtual PulseAudio, streamed to the reference backend; it is killed, started
again, and the meeting is there, marked interrupted, with every line that reached the app more than
2 s before the kill (the app logs, at DEBUG, when each final line reached it)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from test_ui_main import app_env

from app.history import History, MeetingState

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "session"))
pytestmark = [pytest.mark.audio, pytest.mark.slow]
COMMIT_BOUND = 2.0
# The kill comes once this many lines reached the app more than COMMIT_BOUND + KILL_MARGIN ago, so
# there is always something the promise covers, whatever the finals' pacing (two at a time, one 2 s
# chunk apart: at a count of lines, the tick's phase decided by a few ms whether the group before the
# last was older than 2 s at the kill).
DUE_LINES = 5
KILL_MARGIN = 0.5
QUEUED = "history: final segment queued: "


def queued_lines(log: Path) -> list[tuple[float, tuple[str, float, str]]]:
    """(when the app logged it, (source, t0, text)) for every final line that reached the app."""
    found = []
    for line in log.read_text(encoding="utf-8").splitlines() if log.exists() else []:
        if QUEUED in line:
            stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            source, t0, text = line.split(QUEUED, 1)[1].split(" ", 2)
            found.append((stamp, (source, round(float(t0), 3), text)))
    return found


def wait_for(predicate, timeout: float, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"the app exited while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.05)


def test_a_killed_window_meeting_is_recovered_with_at_most_2_s_missing(tmp_path: Path):
    from audio_env import SYSTEM_SINK, ensure_virtual_audio, play_wav
    from sessionkit import bursts, write_wav

    from app.backend import BackendConfig, EmbeddedBackend

    pulse = ensure_virtual_audio()
    wav = write_wav(tmp_path / "meeting.wav", bursts(60.0, 440.0, on=0.6, off=0.4, seed=9)[0])
    backend = EmbeddedBackend(BackendConfig(host="127.0.0.1", port=0, recognizer="simulated"))
    backend.start()
    config = tmp_path / "config" / "EchoPanel"
    config.mkdir(parents=True)
    (config / "EchoPanel Companion.conf").write_text(
        f"[General]\nschema_version=2\n\n[backend]\nurl={backend.ws_url}\n\n[audio]\nsources=system\n\n"
        "[window]\nfirst_run_checked=1\n", encoding="utf-8")
    data = tmp_path / "data"
    env = app_env(tmp_path, QT_QPA_PLATFORM="offscreen", ECHOPANEL_DATA_DIR=str(data), **pulse)
    log = tmp_path / "state" / "EchoPanel Companion" / "log" / "echopanel-companion.log"
    player = play_wav(wav, SYSTEM_SINK)
    try:
        app = subprocess.Popen([sys.executable, "-m", "app", "--start", "--log-level", "DEBUG"], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: sum(at <= time.time() - COMMIT_BOUND - KILL_MARGIN for at, _ in queued_lines(log))
                 >= DUE_LINES, 60, app, "transcript")
        app.send_signal(signal.SIGKILL)
        killed_at = time.time()
        app.wait(timeout=10)
        arrived = queued_lines(log)
        again = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: "recovered" in log.read_text(encoding="utf-8"), 60, again, "recovery")
            wait_for(lambda: log.read_text(encoding="utf-8").count(" ready\n") >= 2, 60, again, "ready")
            again.send_signal(signal.SIGINT)
            assert again.wait(timeout=60) == 0
        finally:
            if again.poll() is None:
                again.kill()
    finally:
        player.kill()
        backend.stop()
    history = History.open(data)
    try:
        [row] = history.reader.list_meetings()
        meeting = history.reader.load(row.id)
    finally:
        history.close()
    assert row.state is MeetingState.INTERRUPTED and row.origin == "window"
    assert meeting is not None and "recovered" in meeting.message
    stored = {(s.source, round(s.t0, 3), s.text) for s in meeting.segments}
    due = {key for at, key in arrived if at <= killed_at - COMMIT_BOUND}
    assert len(due) >= DUE_LINES
    assert due <= stored, f"lost lines older than {COMMIT_BOUND} s: {due - stored}"
    assert stored <= {key for _, key in arrived}
