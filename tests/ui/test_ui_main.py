"""``python -m app`` end to end in subprocesses: the self-test, the headless dispatch without Qt,
and the GUI's start + ordered shutdown on Ctrl+C with its log file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATES = ("idle", "not-measured", "live", "behind", "losing", "failed")
APP_LOG = Path("state", "EchoPanel Companion", "log", "echopanel-companion.log")  # below app_env's home


def app_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        ECHOPANEL_DATA_DIR=str(tmp_path / "data"),  # its own history and single-instance lock
    )
    env.update(extra)
    return env


@contextmanager
def ready_app(command: list[str], env: dict[str, str], home: Path, **streams) -> Iterator[subprocess.Popen]:
    """The app started with ``command``, once its log (``home / APP_LOG``) says it is ready: its event
    loop runs (60 s at most). Killed on the way out if it still runs."""
    log = home / APP_LOG
    proc = subprocess.Popen(command, cwd=ROOT, env=env, text=True, **streams)
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and " ready\n" in log.read_text()):
            assert proc.poll() is None, "the app ended before it was ready:\n" + captured(proc)
            assert time.monotonic() < deadline, "the app did not become ready within 60 s"
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def captured(proc: subprocess.Popen) -> str:
    stream = proc.stdout or proc.stderr
    return stream.read() if stream is not None else ""


def test_self_test_renders_every_state_without_a_display(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "app", "--self-test", "--screenshot", str(tmp_path / "shot")],
        cwd=ROOT,
        env=app_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    variants = [f"self-test {s}{theme}" for theme in ("", "-dark") for s in STATES]
    assert [line.split(":")[0] for line in lines[:-1]] == variants
    assert all(": OK " in line for line in lines[:-1])
    assert lines[-1] == "self-test: all states rendered"
    assert "propagateSizeHints" not in done.stderr
    for state in STATES:
        for variant in ("", "-2x", "-dark", "-dark-2x"):
            assert (tmp_path / f"shot-{state}{variant}.png").stat().st_size > 10_000


def test_headless_path_never_imports_qt(tmp_path):
    code = (
        "import sys\n"
        "from app.main import run\n"
        "rc = run(['--headless', '--help'])\n"
        "print('rc', rc, 'qt', any(m.startswith(('PySide6', 'qasync')) for m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=app_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip().splitlines()[-1] == "rc 0 qt False", done.stdout + done.stderr
    assert "--replay-system" in done.stdout  # headless's own help, not the GUI's


@pytest.mark.slow
def test_gui_starts_and_shuts_down_in_order_on_ctrl_c(tmp_path):
    env = app_env(tmp_path, QT_QPA_PLATFORM="offscreen")
    with ready_app([sys.executable, "-m", "app"], env, tmp_path, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT) as proc:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    text = (tmp_path / APP_LOG).read_text()
    order = [
        text.index(s)
        for s in (
            "ready",
            "shutting down: stopping the session",
            "stopping the built-in backend",
            "EchoPanel Companion stopped",
        )
    ]
    assert order == sorted(order)
    assert "Traceback" not in output


def test_gui_without_a_display_explains_and_exits_2(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env=app_env(tmp_path),  # no DISPLAY, WAYLAND_DISPLAY or QT_QPA_PLATFORM
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr  # not 134 (Qt's SIGABRT)
    first = done.stderr.splitlines()[0]
    assert "no display found" in first
    assert "--headless --duration 30 --events -" in done.stderr
    assert "xvfb-run -a" in done.stderr
    assert "xcb" not in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_second_launch_raises_the_first_window_and_exits(tmp_path):
    env = app_env(tmp_path, QT_QPA_PLATFORM="offscreen")
    with ready_app([sys.executable, "-m", "app"], env, tmp_path, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL) as first:
        second = subprocess.run([sys.executable, "-m", "app"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already running; its window was brought to the front" in second.stderr
        assert first.poll() is None  # the first one is still the app
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=60) == 0
