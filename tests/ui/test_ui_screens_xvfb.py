"""Screenshots of the History tab, Settings with an address error, the first-run check and the quit
dialog on a real X server (Xvfb), at 1x and 2x, light and dark, in artifacts/screenshots/issue15/
for people to look at (not pixel goldens): each exists, is not blank and fits its screen, also at
2x on a 1920x1080 screen (960x540 logical) and on an 800x600 screen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from required_tools import require_tools
from test_ui_xvfb_screenshots import free_display

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "artifacts" / "screenshots" / "issue15"
SCREENS = ("history", "settings-error", "settings-history", "first-run-check", "quit-dialog")
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _xvfb() -> None:
    require_tools("Xvfb", package="xvfb")


def start_xvfb(size: str) -> tuple[subprocess.Popen[bytes], str]:
    number = free_display()
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.05)
    return proc, f":{number}"


@pytest.mark.parametrize(("scale", "theme", "size"), [
    (1, "light", "1280x800"), (1, "dark", "1280x800"), (2, "light", "2560x1600"), (2, "dark", "2560x1600"),
    (2, "dark", "1920x1080"), (1, "light", "800x600"),
])
def test_screens_render_and_fit(scale: int, theme: str, size: str) -> None:
    proc, display = start_xvfb(size)
    out = OUT / f"{scale}x-{theme}-{size}"
    try:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": str(scale)}
        done = subprocess.run([sys.executable, str(ROOT / "tests" / "ui" / "screens.py"), str(out), theme],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert done.returncode == 0, done.stdout + done.stderr
    shots = {Path(r["file"]).stem: r for r in map(json.loads, done.stdout.splitlines())}
    assert set(SCREENS) <= set(shots)
    for name in SCREENS:
        assert shots[name]["fits"], (name, shots[name])
        image = QImage(shots[name]["file"])
        assert not image.isNull() and image.width() >= 300 * scale, name
        colours = {image.pixel(x, y) for x in range(0, image.width(), 5) for y in range(0, image.height(), 5)}
        assert len(colours) > 20, f"{name} looks blank"
