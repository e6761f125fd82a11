"""Fixtures for the history tests: a history in a fresh folder, closed after the test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # historykit, whatever pytest's import mode

from app.history import History


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    opened = History.open(tmp_path / "data")
    yield opened
    opened.close()
