"""Helpers shared by test packages that product code has no use for: framing a whole signal at once,
and a transcript's text."""

from __future__ import annotations

from collections.abc import Iterable

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
