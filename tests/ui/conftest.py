"""Qt tests run offscreen: the platform must be chosen before anything imports Qt.

Fixtures for tests that run the real window with a real session: a qasync loop on the pytest-qt
``QApplication`` (so ``qtbot.waitUntil`` also runs asyncio callbacks), tone WAVs to replay as the
two sources, and a reference backend on its own thread.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")  # qasync must bind to PySide6, never PyQt

import numpy as np
import pytest


@pytest.fixture
def qloop(qapp):
    """A qasync loop marked as running on the Qt main loop that pytest-qt spins in ``waitUntil``."""
    from qasync_loop import close_qloop, open_qloop

    loop = open_qloop(qapp)
    yield loop
    close_qloop(loop, qapp)


def write_tone_wav(path: Path, seconds: float, freq: float, rate: int = 16_000) -> Path:
    """Bursts of tone (1.6 s on, 0.6 s off) so a segmenter sees speech-like regions."""
    t = np.arange(int(seconds * rate)) / rate
    on = (t % 2.2) < 1.6
    samples = (0.4 * np.sin(2 * np.pi * freq * t) * on * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


@pytest.fixture(scope="session")
def tone_wavs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tones")
    return {
        "system": write_tone_wav(folder / "system.wav", 11.0, 330.0),
        "mic": write_tone_wav(folder / "mic.wav", 11.0, 220.0),
    }


@pytest.fixture
def embedded_backend():
    """Start a reference backend with the given options; stopped after the test."""
    from app.backend import BackendConfig, EmbeddedBackend

    started = []

    def start(**options) -> EmbeddedBackend:
        config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", **options)
        backend = EmbeddedBackend(config)
        backend.start()
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.stop()
