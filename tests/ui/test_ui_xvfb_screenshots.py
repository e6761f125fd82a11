"""Screenshots of every state of the status light on a real X server (Xvfb, xcb platform), light and
dark, 1x and 2x, saved as artifacts in artifacts/screenshots/ (not pixel goldens): checks each PNG
exists, is not blank, and that the 2x picture is the 1x picture at twice the size."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from required_tools import require_tools

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "artifacts" / "screenshots"
STATES = ("idle", "not-measured", "live", "behind", "losing", "failed")



@pytest.fixture(autouse=True)
def _xvfb() -> None:
    require_tools("Xvfb", package="xvfb")


def free_display() -> int:
    for number in range(90, 400):
        if not (Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists()):
            return number
    raise RuntimeError("no free X display number between :90 and :399")


@pytest.fixture
def xvfb():
    number = free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            assert proc.poll() is None, f"Xvfb exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            assert time.monotonic() < deadline, "Xvfb did not start within 15 s"
            time.sleep(0.05)
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_self_test_screenshots_under_xvfb(xvfb, qapp):
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("xvfb-*.png"):
        old.unlink()
    env = {**os.environ, "DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run(
        [sys.executable, "-m", "app", "--self-test", "--screenshot", "artifacts/screenshots/xvfb"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "self-test: all states rendered"
    for state in STATES:
        for theme in ("", "-dark"):
            image = QImage(str(OUT / f"xvfb-{state}{theme}.png"))
            double = QImage(str(OUT / f"xvfb-{state}{theme}-2x.png"))
            assert not image.isNull() and not double.isNull(), state
            assert image.width() >= 800 and image.height() >= 500, (state, image.size())
            assert (double.width(), double.height()) == (image.width() * 2, image.height() * 2)
            xs, ys = range(0, image.width(), 7), range(0, image.height(), 7)
            colours = {image.pixel(x, y) for x in xs for y in ys}
            assert len(colours) > 50, f"{state}{theme} screenshot looks blank ({len(colours)} colours)"
