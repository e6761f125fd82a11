"""Fixtures for the session tests: test WAVs and the reference backend on a loopback port."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # sessionkit, whatever pytest's import mode

from sessionkit import bursts, write_wav

from app.backend import BackendConfig, ReferenceBackend
from app.core.messages import Source


@pytest.fixture
def wavs(tmp_path: Path) -> dict[Source, Path]:
    """3 s of tone bursts per source, different tones, 16 kHz mono."""
    system, _ = bursts(3.0, 440.0, seed=1)
    mic, _ = bursts(3.0, 660.0, seed=2, lead=0.5)
    return {Source.SYSTEM: write_wav(tmp_path / "system.wav", system),
            Source.MIC: write_wav(tmp_path / "mic.wav", mic)}


@pytest.fixture
def record_dir(tmp_path: Path) -> Path:
    path = tmp_path / "rec"
    path.mkdir()
    return path


@pytest.fixture
async def backend(record_dir: Path) -> AsyncIterator[ReferenceBackend]:
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", rtf=0.2, record_dir=record_dir)
    async with ReferenceBackend(config) as running:
        yield running
