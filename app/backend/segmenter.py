"""Energy-based speech segmentation: one speech region per stretch of sound. Pure (numpy only).

Audio is judged in 20 ms frames by RMS. A region starts at the first loud frame, ends after at least
``min_silence_seconds`` of quiet (its end is the end of the last loud frame), and is cut at
``max_region_seconds`` so a long monologue still yields finals. Sample positions are absolute
(counted from the first sample pushed), which is what ``t0``/``t1`` are made of.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FRAME_SAMPLES = 320
SAMPLE_RATE = 16_000
DEFAULT_THRESHOLD_RMS = 300.0  # about -40 dBFS: above a quiet room, below any voice
MIN_REGION_SECONDS = 0.08  # shorter regions are clicks, not speech


class BoundaryKind(enum.Enum):
    START = "start"
    END = "end"


@dataclass(frozen=True, slots=True)
class Boundary:
    kind: BoundaryKind
    sample: int  # absolute sample position


def speech_regions(samples: npt.NDArray[np.int16], min_seconds: float = MIN_REGION_SECONDS
                   ) -> list[tuple[int, int]]:
    """The speech regions of one self-contained piece of audio, as ``(start, end)`` sample positions,
    regions shorter than ``min_seconds`` left out. A region still open at the end ends there."""
    seg = EnergySegmenter()
    bounds = seg.push(samples) + seg.flush()
    starts = [b.sample for b in bounds if b.kind is BoundaryKind.START]
    ends = [b.sample for b in bounds if b.kind is BoundaryKind.END]
    shortest = min_seconds * SAMPLE_RATE
    return [(s, e) for s, e in zip(starts, ends, strict=True) if e - s >= shortest]


class EnergySegmenter:
    """Turns a stream of int16 samples into region START/END boundaries."""

    def __init__(
        self,
        threshold_rms: float = DEFAULT_THRESHOLD_RMS,
        min_silence_seconds: float = 0.3,
        max_region_seconds: float = 10.0,
    ) -> None:
        self._threshold_sq = threshold_rms * threshold_rms
        self._min_silence = int(min_silence_seconds * SAMPLE_RATE)
        self._max_region = int(max_region_seconds * SAMPLE_RATE)
        self._pending = np.zeros(0, dtype=np.int16)
        self._position = 0  # absolute sample index of the first pending sample
        self._region_start: int | None = None
        self._last_loud_end = 0

    @property
    def in_region(self) -> bool:
        return self._region_start is not None

    def push(self, samples: npt.NDArray[np.int16]) -> list[Boundary]:
        """Consume samples; return the boundaries decided by them (a partial frame waits for more)."""
        data = np.concatenate((self._pending, samples)) if self._pending.size else samples
        whole = data.size - data.size % FRAME_SAMPLES
        out: list[Boundary] = []
        if whole:
            frames = data[:whole].astype(np.float64).reshape(-1, FRAME_SAMPLES)
            loud = (frames * frames).mean(axis=1) >= self._threshold_sq
            for is_loud in loud:
                self._frame(bool(is_loud), out)
        self._pending = data[whole:].copy()
        return out

    def flush(self) -> list[Boundary]:
        """End of input: judge the partial frame and close an open region."""
        out: list[Boundary] = []
        if self._pending.size:
            rest = self._pending.astype(np.float64)
            loud = float((rest * rest).mean()) >= self._threshold_sq
            size = self._pending.size
            self._pending = np.zeros(0, dtype=np.int16)
            self._frame(loud, out, size)
        if self._region_start is not None:
            out.append(Boundary(BoundaryKind.END, self._last_loud_end))
            self._region_start = None
        return out

    def _frame(self, loud: bool, out: list[Boundary], size: int = FRAME_SAMPLES) -> None:
        start, end = self._position, self._position + size
        self._position = end
        if loud:
            if self._region_start is None:
                self._region_start = start
                out.append(Boundary(BoundaryKind.START, start))
            self._last_loud_end = end
            if end - self._region_start >= self._max_region:
                out.append(Boundary(BoundaryKind.END, end))
                self._region_start = None
        elif self._region_start is not None and end - self._last_loud_end >= self._min_silence:
            out.append(Boundary(BoundaryKind.END, self._last_loud_end))
            self._region_start = None
