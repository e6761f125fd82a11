"""Sent position -> capture time, per source, on one connection.

The n-th frame this client sent of a source on a connection ("sent position" n) was captured at some
moment; frames are sent in capture order, but not contiguously: skipped silence, shed frames and a
resend after a reconnect make jumps. ``TimeMap`` records runs (a new run at every discontinuity of
frame index or capture time) and answers ``capture_time(source, position)``. Which sent position a
server time refers to (the server's timeline counts processed audio, compressed by its drops) is
``app.core.server_lane``'s part; ``app.core.server_view`` combines the two.

Pure: no I/O. Memory: one breakpoint per discontinuity, the oldest forgotten beyond ``MAX_BREAKPOINTS``
(positions that old then map to the oldest run kept).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Protocol

from app.core.messages import FRAME_SECONDS

MAX_BREAKPOINTS = 100_000
# Frames of one run are exactly a frame apart (sample-exact capture clocks). Anything else starts a
# run, including the 1 ms steps of a capture clock being slewed (app.core.framing), so mapped times
# follow the frames' own capture times through the correction.
RUN_TOLERANCE_SECONDS = 0.0002


class SentFrame(Protocol):
    """What the map needs of a sent frame; ``app.core.framing.Frame`` satisfies it."""

    @property
    def source(self) -> str: ...
    @property
    def capture_time(self) -> float: ...
    @property
    def index(self) -> int: ...


@dataclass(slots=True)
class _Runs:
    starts: list[int] = field(default_factory=list)  # sent position where a contiguous run starts
    times: list[float] = field(default_factory=list)  # capture time of that frame
    sent: int = 0
    next_time: float | None = None
    next_index: int = 0


class TimeMap:
    """Call ``record_sent`` for every frame actually sent on one connection, in order."""

    def __init__(self, frame_seconds: float = FRAME_SECONDS) -> None:
        self.frame_seconds = frame_seconds
        self._runs: dict[str, _Runs] = {}

    def sent_frames(self, source: str) -> int:
        runs = self._runs.get(source)
        return 0 if runs is None else runs.sent

    def start_time(self) -> float | None:
        """Capture time of the first frame sent on this connection, of any source; ``None`` before."""
        return min((r.times[0] for r in self._runs.values() if r.times), default=None)

    def record_sent(self, frame: SentFrame) -> None:
        runs = self._runs.get(frame.source)
        if runs is None:
            runs = self._runs[str(frame.source)] = _Runs()
        expected = runs.next_time
        on_time = expected is not None and abs(frame.capture_time - expected) < RUN_TOLERANCE_SECONDS
        if not (on_time and frame.index == runs.next_index):
            runs.starts.append(runs.sent)
            runs.times.append(frame.capture_time)
            if len(runs.starts) > MAX_BREAKPOINTS:
                del runs.starts[: MAX_BREAKPOINTS // 2]
                del runs.times[: MAX_BREAKPOINTS // 2]
        runs.sent += 1
        runs.next_time, runs.next_index = frame.capture_time + self.frame_seconds, frame.index + 1

    def capture_time(self, source: str, position: float) -> float | None:
        """Capture time of (fractional) sent position ``position``, clamped to what was sent; ``None``
        before any frame of ``source`` was sent."""
        runs = self._runs.get(source)
        if runs is None or not runs.starts:
            return None
        position = min(max(0.0, position), float(runs.sent))
        i = max(0, bisect.bisect_right(runs.starts, position) - 1)
        return runs.times[i] + (position - runs.starts[i]) * self.frame_seconds
