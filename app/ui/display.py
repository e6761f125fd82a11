"""Whether a window can open here, decided before Qt is imported: on Linux with no display server
named and no Qt platform chosen (an SSH session, a container), Qt would abort (SIGABRT) with a
misleading message about the xcb plugin. The GUI path prints ``no_display_message()`` instead; the
self-test renders offscreen (``ensure_display``). No Qt here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.logs import APP_NAME

DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def no_display() -> bool:
    """Linux with no display server named and no Qt platform chosen (an SSH session, a container)."""
    return sys.platform.startswith("linux") and not any(os.environ.get(name) for name in DISPLAY_VARIABLES)


def ensure_display() -> None:
    """Without any display, fall back to offscreen rendering (self-test, CI)."""
    if no_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _command() -> str:
    """How the user started us, for hints: the frozen executable's name or ``python -m app``."""
    return Path(sys.executable).name if getattr(sys, "frozen", False) else "python -m app"


def no_display_message() -> str:
    """What to print instead of letting Qt abort with a misleading xcb plugin error."""
    cmd = _command()
    return (
        f"{APP_NAME}: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open.\n"
        f"  Stream without a window:  {cmd} --headless --duration 30 --events -\n"
        f"  Or use a virtual display: xvfb-run -a {cmd}"
    )
