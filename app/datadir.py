"""Where the app keeps its data (the meeting history and recordings): one folder per user.

``ECHOPANEL_DATA_DIR`` overrides it (tests, portable installs, a second profile). Otherwise the
platform's per-user data folder (``platformdirs.user_data_dir``):

- Linux: ``~/.local/share/EchoPanel Companion`` (``$XDG_DATA_HOME`` is honoured)
- Windows: ``%LOCALAPPDATA%\\EchoPanel Companion``
- macOS: ``~/Library/Application Support/EchoPanel Companion``
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "EchoPanel Companion"
DATA_DIR_VARIABLE = "ECHOPANEL_DATA_DIR"


def data_dir() -> Path:
    """The data folder (not created here)."""
    override = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
