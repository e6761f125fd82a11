"""When each frame a client sent on one connection reached the server: batch times and running counts.

Pure. ``LaneMirror`` asks it which was the newest frame before a server message and when a frame
arrived, and forgets (``forget``) what no answer needs any more, keeping only the running count.

A frame is taken to arrive when it is written, except across a stall: what the client wrote while the
server said nothing sat in the socket (a stopped process reads nothing), so once the server speaks
again ``held_back`` moves those batches to that moment.
"""

from __future__ import annotations

import bisect


class SendLog:
    def __init__(self) -> None:
        self._times: list[float] = []  # arrival time of each batch kept
        self._counts: list[int] = []  # frames sent up to and including that batch
        self._forgotten = 0  # frames sent in the batches forgotten

    def __len__(self) -> int:
        """Batches kept."""
        return len(self._times)

    @property
    def frames(self) -> int:
        return self._counts[-1] if self._counts else self._forgotten

    def add(self, frames: int, at: float) -> None:
        """``frames`` more frames arrived at ``at`` (positions continue from the previous batch)."""
        if frames <= 0:
            return
        total = self.frames + frames
        if self._times and at <= self._times[-1]:
            self._counts[-1] = total
        else:
            self._times.append(at)
            self._counts.append(total)

    def newest(self, t: float) -> int:
        """The last position that had arrived before ``t`` (-1: none yet). Strictly before: a server
        message stamped ``t`` was received (so sent) before anything the client wrote in reply at the
        same clock reading."""
        i = bisect.bisect_left(self._times, t) - 1
        return self._counts[i] - 1 if i >= 0 else self._forgotten - 1

    def surely(self, t: float, skew: float) -> int:
        """``newest(t)``, not counting the last batch before ``t`` if it came less than ``skew`` before
        it: a server message stamped ``t`` (when the client read it) may have been written before the
        server read that batch from its socket."""
        i = bisect.bisect_left(self._times, t) - 1
        if i >= 0 and self._times[i] > t - skew:
            i -= 1
        return self._counts[i] - 1 if i >= 0 else self._forgotten - 1

    def arrival(self, position: int) -> float | None:
        """When ``position`` arrived (None: not yet)."""
        i = bisect.bisect_right(self._counts, position)
        return self._times[i] if i < len(self._times) else None

    def held_back(self, since: float, until: float) -> tuple[int, int]:
        """The batches written after ``since`` and before ``until`` reached the server only at
        ``until`` (a stall: see the module docstring). Returns the positions that had arrived before
        them and the positions they add: (first held, last held + 1); equal when none were held."""
        first = bisect.bisect_right(self._times, since)
        last = bisect.bisect_left(self._times, until)
        before = self._counts[first - 1] if first > 0 else self._forgotten
        if last <= first:
            return before, before
        after = self._counts[last - 1]
        del self._times[first:last], self._counts[first:last]
        if first < len(self._times) and self._times[first] == until:
            pass  # a batch written at ``until`` itself already counts them
        else:
            self._times.insert(first, until)
            self._counts.insert(first, after)
        return before, after

    def forget(self, from_time: float, from_position: int) -> bool:
        """Drop the batches no longer needed to answer ``newest(t)`` for t >= ``from_time`` and
        ``arrival(p)`` for p >= ``from_position``; whether any was dropped."""
        keep = min(bisect.bisect_right(self._times, from_time) - 1,
                   bisect.bisect_right(self._counts, from_position))
        if keep <= 0:
            return False
        self._forgotten = self._counts[keep - 1]
        del self._times[:keep]
        del self._counts[:keep]
        return True
