"""Sent position -> capture time, per source, on one connection.

The n-th frame this client sent of a source on a connection ("sent position" n) was captured at some
moment; frames are sent in capture order, but not contiguously: skipped silence, shed frames and a
resend after a reconnect make jumps. ``TimeMap`` records runs (a new run at every discontinuity of
frame index or capture time) and answers ``capture_time(source, position)``. Which sent position a
server time refers to (the server's timeline counts processed audio, compressed by its drops) is
``app.core.server_lane``'s part; ``app.core.server_view`` combines the two.

Stop padding (``app.core.stop_pad``) is silence nobody said: it has no duration in capture time. A run
of padding maps, every position of it, to the end of the last real frame sent before it, not to the
padding's own capture times (which continue the source's last CAPTURED frame: after silence the VAD
skipped, that is the Stop moment, seconds after the last audio the recognizer got). So a segment that
ends in the padding ends where its audio does.

Pure: no I/O. Memory: one breakpoint per discontinuity, the oldest forgotten beyond ``MAX_BREAKPOINTS``
(positions that old then map to the oldest run kept).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Protocol

from app.core.messages import FRAME_SECONDS
from app.core.stop_pad import is_padding

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
    still: list[bool] = field(default_factory=list)  # a run of stop padding: every position at its time
    sent: int = 0
    next_time: float | None = None
    next_index: int = 0
    padding: bool = False  # the last frame sent was stop padding
    real_end: float | None = None  # capture end of the last real (non-padding) frame sent


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
        if is_padding(frame):
            if not runs.padding:  # no audio: it sits at the end of the real audio sent before it
                at = frame.capture_time if runs.real_end is None else runs.real_end
                self._start_run(runs, at, still=True)
                runs.padding = True
            runs.sent += 1
            return
        expected = runs.next_time
        on_time = expected is not None and abs(frame.capture_time - expected) < RUN_TOLERANCE_SECONDS
        if runs.padding or not (on_time and frame.index == runs.next_index):
            self._start_run(runs, frame.capture_time, still=False)
        runs.padding = False
        runs.sent += 1
        runs.next_time, runs.next_index = frame.capture_time + self.frame_seconds, frame.index + 1
        runs.real_end = runs.next_time

    @staticmethod
    def _start_run(runs: _Runs, at: float, *, still: bool) -> None:
        runs.starts.append(runs.sent)
        runs.times.append(at)
        runs.still.append(still)
        if len(runs.starts) > MAX_BREAKPOINTS:
            del runs.starts[: MAX_BREAKPOINTS // 2]
            del runs.times[: MAX_BREAKPOINTS // 2]
            del runs.still[: MAX_BREAKPOINTS // 2]

    def capture_time(self, source: str, position: float) -> float | None:
        """Capture time of (fractional) sent position ``position``, clamped to what was sent; ``None``
        before any frame of ``source`` was sent. A position in stop padding (or at its end) maps to
        the end of the last real frame before it."""
        runs = self._runs.get(source)
        if runs is None or not runs.starts:
            return None
        position = min(max(0.0, position), float(runs.sent))
        i = max(0, bisect.bisect_right(runs.starts, position) - 1)
        if runs.still[i]:
            return runs.times[i]
        return runs.times[i] + (position - runs.starts[i]) * self.frame_seconds
