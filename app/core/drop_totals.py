"""The server's own count of its drops, as a ceiling on the drops a lane mirror infers.

Every ``metrics`` message carries ``dropped_total``: the frames the server dropped on this connection so
far, all sources together (CONTRACT.md 4.2; a new connection is a new server session and starts at 0).
The lane mirror (``app.core.server_lane``) infers each drop as a gap between two chunks from when it
thinks the first of them ended; where that end is only estimated (a chunk of silence, no final marks
it), or where a report seemed to pin the next chunk, the gap can be a phantom: drops reported that
never happened (measured: 0.2 s of them after the reconnect of a 60 s stall, while the server counted
none). The count bounds them: by the time a chunk ended, this lane cannot have lost more frames than
the server had counted for all its lanes by then. So the gaps of one lane up to a chunk are at most the
count of the first report written after that chunk ended. It is a ceiling, never a placement: the
mirror still places every drop, and where a real drop is missing from the model no count adds it.

Pure; times are the client's reading times of the reports.
"""

from __future__ import annotations

import bisect

MAX_TOTALS = 4096
COUNT_LAG_SECONDS = 1.0  # a report read this long after a moment was surely written after it


class DropTotals:
    def __init__(self) -> None:
        self._times: list[float] = []
        self._totals: list[int] = []
        self.reported = False  # the server has reported a count on this connection

    def add(self, total: int, at: float) -> None:
        """A report read at ``at`` said the connection's drops so far were ``total``."""
        if self._times and at < self._times[-1]:
            return  # reports are read in order; an older one says nothing new
        self.reported = True
        self._times.append(at)
        self._totals.append(max(total, self._totals[-1] if self._totals else 0))
        if len(self._times) > MAX_TOTALS:
            del self._times[:-MAX_TOTALS], self._totals[:-MAX_TOTALS]

    def by(self, moment: float) -> int | None:
        """The most frames the server can have dropped on this connection by ``moment`` (all sources):
        the count in the first report read ``COUNT_LAG_SECONDS`` after it (so written after it). None
        while no such report came, or when the server never reported a count."""
        after = bisect.bisect_left(self._times, moment + COUNT_LAG_SECONDS)
        return self._totals[after] if after < len(self._times) else None

    def narrow(self, end: int, ended: float, following: int, dropped: int) -> int:
        """``following`` (where a lane's chunk after the one ending at position ``end``, at ``ended``,
        starts) with the gap before it no wider than the count allows: ``dropped`` frames of that lane
        were already found dropped before it."""
        ceiling = self.by(ended)
        if ceiling is None or following - end - 1 <= ceiling - dropped:
            return following
        return end + 1 + max(0, ceiling - dropped)

    def confirms(self, moment: float) -> bool:
        """Whether the count by ``moment`` is known (``by``), or the server reports none (nothing to
        wait for)."""
        return not self.reported or self.by(moment) is not None

    def forget(self, before: float) -> None:
        """Drop the reports no question about a moment at or after ``before`` needs."""
        keep = bisect.bisect_left(self._times, before + COUNT_LAG_SECONDS)
        del self._times[:keep], self._totals[:keep]
