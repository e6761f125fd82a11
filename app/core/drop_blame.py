"""Server drops -> the sources that lost them (CONTRACT.md sections 4.2 and 5).

The server counts drops session-wide: ``dropped_total`` is the same in every source's metrics, and
``dropped_recent`` lands on whichever source comes first in its once-a-second pass. Which source lost
the frames has to be inferred, and it matters: ``TimeMap`` shifts every later transcript time of a
source by the drops booked against it, so blaming one source for both sources' drops leaves one
source's times late and the other's early by the same amount for the rest of the connection.

Evidence (``DropBlame``): a drop-oldest queue only drops while it is full, and a busy recognizer
consumes every busy queue at about the same pace (the reference backend runs one worker per source
at the same real-time factor). So among the sources whose queues are nearly full (above
``busy_above``), the frames that left each queue since its previous metrics (sent - queued - what
had left before) were consumed up to a common level ``c`` and dropped beyond it:
``drops_s = max(0, left_s - c)`` with the shares summing to the new drops (``water_fill``). Two
equally loaded sources share the drops equally; a source that sent less loses less. For a source
whose metrics of the same pass have not arrived yet, its queue is taken as unchanged since its last
metrics (a full queue stays full) and its sends are counted up to now. A source's share is owed
until its own metrics close its interval, and handed back then, so the time map and the drain
estimate book it against the interval it happened in.

Pure: no I/O, the caller passes the time and the per-source send counts. One per connection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


class DropCounter:
    """New server-dropped frames, session-wide, from successive metrics of any source: from
    ``dropped_total`` (which de-duplicates), else from ``dropped_recent``. One per connection."""

    def __init__(self) -> None:
        self._known: int | None = None

    def new_frames(self, total: int | None, recent: int | None) -> int:
        if total is not None and total >= 0:
            known, self._known = self._known, total
            return total if known is None or total < known else total - known
        if recent is not None and recent > 0:
            self._known = (self._known or 0) + recent
            return recent
        return 0


def water_fill(total: int, inflow: Mapping[str, float]) -> dict[str, int]:
    """Split ``total`` frames: each name gets ``max(0, inflow - level)`` for the common ``level`` at
    which the shares add up to ``total``. If the inflows cannot cover ``total`` (inconsistent
    figures), in proportion to them, or equally if they are all zero. Whole frames that sum to
    ``total`` exactly (largest remainders). ``inflow`` must not be empty."""
    names = sorted(inflow, key=lambda n: (-max(0.0, inflow[n]), n))
    values = [max(0.0, float(inflow[n])) for n in names]
    whole = sum(values)
    if whole <= total:
        real = [total * v / whole for v in values] if whole > 0 else [total / len(values)] * len(values)
    else:
        level, run = 0.0, 0.0
        for k, value in enumerate(values, 1):
            run += value
            level = (run - total) / k
            if k == len(values) or values[k] <= level:
                break
        real = [max(0.0, v - level) for v in values]
    shares = [math.floor(r) for r in real]
    by_remainder = sorted(range(len(real)), key=lambda i: shares[i] - real[i])
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return {n: s for n, s in zip(names, shares, strict=True) if s > 0}


@dataclass(slots=True)
class _Track:
    fill: float = 0.0  # at its last metrics
    fill_before: float = 0.0  # at the metrics before
    at: float | None = None  # clock time of its last metrics with a queue figure
    queued: int = 0  # frames in its server queue then
    left: int = 0  # frames sent on this connection that had left its server queue by then
    owed: int = 0  # drops blamed on it, not yet handed back


class DropBlame:
    """See the module docstring. Call ``on_metrics`` for every metrics message, in arrival order."""

    def __init__(self, busy_above: float = 0.85, stale_seconds: float = 3.0) -> None:
        self.busy_above = busy_above
        self.stale_seconds = stale_seconds
        self._counter = DropCounter()
        self._tracks: dict[str, _Track] = {}

    def new_connection(self) -> None:
        """The server's queues, drop counts and our send counts restart."""
        self._counter = DropCounter()
        self._tracks.clear()

    def on_metrics(
        self,
        source: str,
        now: float,
        *,
        dropped_total: int | None,
        dropped_recent: int | None,
        queued: int | None,
        fill: float | None,
        sent: Mapping[str, int],
    ) -> int:
        """One metrics message of ``source``: ``queued`` = its server queue in frames (None if the
        message does not say), ``sent`` = frames sent so far on this connection, per source. Returns
        the drops to book against ``source`` for its interval since its previous metrics (0 while
        ``queued`` is unknown: they stay owed)."""
        track = self._tracks.setdefault(source, _Track())
        if fill is not None and math.isfinite(fill):
            track.fill_before, track.fill = track.fill, fill
        new = self._counter.new_frames(dropped_total, dropped_recent)
        if new > 0:
            for name, share in self._split(new, source, now, queued, sent).items():
                self._tracks[name].owed += share
        if queued is None:
            return 0
        track.left = max(track.left, sent.get(source, 0) - queued)
        track.queued, track.at = queued, now
        owed, track.owed = track.owed, 0
        return owed

    def _split(
        self, drops: int, reporter: str, now: float, queued: int | None, sent: Mapping[str, int]
    ) -> dict[str, int]:
        inflow: dict[str, float] = {}
        for name, t in self._tracks.items():
            if name == reporter:  # its queue could have been full at either end of its interval
                full = max(t.fill, t.fill_before) > self.busy_above
                now_queued = t.queued if queued is None else queued
            else:  # its interval is still open: full at its start, queue assumed unchanged since
                fresh = t.at is not None and now - t.at <= self.stale_seconds
                full = fresh and t.fill > self.busy_above
                now_queued = t.queued
            if full:
                inflow[name] = max(0, sent.get(name, 0) - now_queued - t.left)
        return water_fill(drops, inflow) if inflow else {reporter: drops}
