"""New server-dropped frames from the server's session-wide counters (CONTRACT.md 4.1, 4.2).

``dropped_total`` in metrics and ``dropped_frames`` in ``backpressure`` are the same session total, in
chunks (one 20 ms frame each); ``dropped_recent`` is a delta that lands on whichever source comes first
in a metrics tick. ``DropCounter`` turns successive readings of any source into new frames, without
counting a repeat twice, and remembers when they were seen (for "dropped in the last 10 s"). One per
connection. Pure.
"""

from __future__ import annotations

from collections import deque

MAX_EVENTS = 512


class DropCounter:
    def __init__(self) -> None:
        self._known: int | None = None
        self._events: deque[tuple[float, int]] = deque(maxlen=MAX_EVENTS)

    def new_frames(self, total: int | None, recent: int | None, at: float = 0.0) -> int:
        """The frames dropped since the last reading: from ``total`` (which de-duplicates), else from
        ``recent``. A total below the known one is a new server session: all of it is new."""
        new = 0
        if total is not None and total >= 0:
            known, self._known = self._known, total
            new = total if known is None or total < known else total - known
        elif recent is not None and recent > 0:
            self._known = (self._known or 0) + recent
            new = recent
        if new > 0:
            self._events.append((at, new))
        return new

    def recent(self, now: float, window: float) -> int:
        """Frames seen dropped within the last ``window`` seconds."""
        return sum(n for at, n in self._events if now - at <= window)
