"""Helpers shared by test packages that product code has no use for: framing a whole signal at once,
a transcript's text, and the reference backend as a subprocess on a free loopback port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from app.core.framing import AudioBlock, Frame, Framer
from app.core.messages import Source
from app.core.session_state import TranscriptSegment


def frame_signal(
    signal: AudioBlock,
    native_rate: float,
    source: Source = Source.SYSTEM,
    *,
    block_frames: int | None = None,
    start_time: float = 0.0,
) -> list[Frame]:
    """Frame a whole signal the way live capture would (blocks of ``block_frames``, default 20 ms),
    flushing at the end."""
    data = np.asarray(signal)
    channels = 1 if data.ndim == 1 else int(data.shape[1])
    step = block_frames or max(1, round(native_rate / 50))
    framer = Framer(source, native_rate, channels)
    frames: list[Frame] = []
    for start in range(0, data.shape[0], step):
        frames.extend(framer.feed(data[start : start + step], start_time + start / native_rate))
    frames.extend(framer.flush())
    return frames



def transcript_text(segments: Iterable[TranscriptSegment], source: str | None = None) -> str:
    """The finals' text joined with spaces, optionally for one source."""
    return " ".join(s.text.strip() for s in segments if s.is_final and (source is None or s.source == source))


def launch_backend(*args: str) -> tuple[subprocess.Popen[str], str]:
    """``python -m app.backend`` (simulated recognizer, no token) with ``args``: (process, its ws URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.backend", "--port", "0", "--recognizer", "simulated", *args],
        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "ECHOPANEL_WS_AUTH_TOKEN": ""},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.fullmatch(r"listening on (ws://127\.0\.0\.1:\d+/ws/live-listener)\n", line)
    assert match, f"the backend did not start: {line!r}"
    return proc, match.group(1)
