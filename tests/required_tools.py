"""System tools the suite needs. ``packaging/dev.sh test`` installs them all, so a missing one is a
broken install, and a test that needs it FAILS saying what to install: it is never skipped, since a
skipped check would pass CI without checking anything."""

from __future__ import annotations

import shutil

import pytest


def require_tools(*tools: str, package: str) -> None:
    """Fail the calling test unless every one of ``tools`` is on PATH."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install {package} (packaging/dev.sh test does)",
                    pytrace=False)
