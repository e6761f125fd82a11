"""Fixtures for the capture tests. Other test folders may copy ``virtual_audio`` as it is, together
with the sys.path lines that make tests/audio_env.py importable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS_DIR = str(Path(__file__).resolve().parents[1])
if TESTS_DIR not in sys.path:  # tests/ has no __init__.py; this makes tests/audio_env.py importable
    sys.path.insert(0, TESTS_DIR)

from audio_env import SERVERS, ensure_virtual_audio  # noqa: E402


@pytest.fixture
def virtual_audio() -> dict[str, str]:
    """The virtual PulseAudio client env; the daemon is private to this test process. Made current
    again for every test (cheap once started): a test before may have used another sound server."""
    return ensure_virtual_audio()


@pytest.fixture(params=SERVERS)
def sound_server(request: pytest.FixtureRequest) -> str:
    """Each sound server in turn (PulseAudio, then PipeWire's PulseAudio layer), current for the test.
    PipeWire that cannot start fails the test (with the reason): it is never skipped."""
    ensure_virtual_audio(request.param)
    return str(request.param)
