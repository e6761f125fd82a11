"""The chunks a lane mirror (``app.core.server_lane``) has settled: what is still asked of them, bounded.

Pure. A settled chunk never changes again, and of all of them the mirror is still asked only: where
each one lies on the sent timeline (a final, or the final summary, may map a time of any part of the
connection), the gaps between them (the server's drops, for the loss ledger), the largest uncertainty
(the error bound of those drops, whether the stop tail is exact), the end of the last exact one (the
resend window's edge), and the last ``KEEP`` whole records (recent processing times, the
shared-recognizer judgement, the credit). Places are kept as runs of back-to-back chunks with the same
uncertainty, one record per gap or change (as ``app.core.timemap`` keeps capture times): memory grows
with the drops, not with the meeting, and nothing is copied per question.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass

RECENT_CHUNKS = 5  # the estimate of a processing time is the median of this many recent ones
KEEP = 64  # whole settled chunks kept: the shared-recognizer judgement looks back a few dozen


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk the recognizer took: the sent positions ``start..end`` (inclusive)."""

    start: int
    end: int
    started: float  # when its processing began
    ended: float | None  # when it ended; None: still being processed, as far as anything shows
    exact: bool  # ``ended`` comes from a final or is pinned by a metrics message
    uncertainty: int = 0  # frames ``start`` may be off by (an estimated chunk end before it)
    race: int = 0  # of that, the two outcomes of a resume (app.core.resume): ``start`` or this much later


def gap(prev: Chunk | None, chunk: Chunk) -> tuple[int, int, bool] | None:
    """The positions the server dropped between ``prev`` and ``chunk`` (first, last, exact), if any."""
    first = prev.end + 1 if prev is not None else 0
    if chunk.start <= first:
        return None
    exact = prev is None or (prev.exact and prev.uncertainty == 0 and chunk.uncertainty == 0)
    return first, chunk.start - 1, exact


class SettledChunks:
    """See the module docstring; ``add`` them in order."""

    def __init__(self) -> None:
        self.count = 0  # chunks settled: indices 0 .. count - 1
        self.recent: deque[Chunk] = deque(maxlen=KEEP)
        self.drops: list[tuple[int, int, bool]] = []  # gaps between settled chunks, in order
        self.dropped_frames = 0  # in those gaps
        self.max_uncertainty = 0
        self.exact_end = -1  # last position of the last settled chunk known exactly to have ended
        self._firsts: list[int] = []  # chunk index where a run of back-to-back chunks begins
        self._starts: list[int] = []  # its start position
        self._uncertain: list[int] = []  # the run's uncertainty

    @property
    def last(self) -> Chunk | None:
        return self.recent[-1] if self.recent else None

    def add(self, chunk: Chunk) -> None:
        prev = self.last
        dropped = gap(prev, chunk)
        if dropped is not None:
            self.drops.append(dropped)
            self.dropped_frames += dropped[1] - dropped[0] + 1
        if prev is None or chunk.start != prev.end + 1 or chunk.uncertainty != prev.uncertainty:
            self._firsts.append(self.count)
            self._starts.append(chunk.start)
            self._uncertain.append(chunk.uncertainty)
        self.recent.append(chunk)
        self.count += 1
        self.max_uncertainty = max(self.max_uncertainty, chunk.uncertainty)
        if chunk.exact and chunk.ended is not None:
            self.exact_end = chunk.end

    def place(self, j: int, size: int) -> tuple[int, int]:
        """(start, uncertainty) of settled chunk ``j`` (chunks are ``size`` frames)."""
        i = max(0, bisect.bisect_right(self._firsts, j) - 1)
        return self._starts[i] + (j - self._firsts[i]) * size, self._uncertain[i]
