"""When did the server finish a chunk that no final marks? (Silence, or the middle of an utterance.)

Pure, for ``app.core.server_lane``. While chunk ``j`` is processed, a ``metrics`` report at ``M`` finds
``min(queue, newest(M) - end_j)`` frames queued, give or take the batches written in the last
``REPORT_LAG_SECONDS`` (the server may not have read them yet when it counted): reports that agree, or
find more queued (the recognizer has not pulled the chunk yet, so it has not ended either), bracket the
end from below; the first that finds fewer brackets it from above (so does a final of a later chunk),
and pins nothing while a batch beyond the tolerance may be missing from it. The point estimate is
the start plus the median processing time of recent chunks if that falls inside the bracket, else (the
recognizer's speed changed, or nothing is known yet) the bracket's middle. A report that finds
the queue partly full (``0 < q < queue``) pins the end of the NEXT chunk at ``newest(M) - q``; if that
chunk began after a gap (drops), the queue held exactly its first frames when it was pulled, which
pins this chunk's end exactly. A chunk whose start is uncertain (after a stall: the two outcomes of
a race) is busy for a report either place explains, and a gap after it must be wider than that
uncertainty. A chunk a final ends whose place is uncertain is placed by the latest report during it
that found the queue partly full (``placed_by_report``).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.send_log import SendLog

# The client reads a report after writing its latest batches, which the server may not have read yet
# when it counted its queue (its loop busy, a loaded machine): what was written less than this before
# the report was read may be missing from it (one 240 ms batch and then some).
REPORT_LAG_SECONDS = 0.3
# A recognizer filling its chunk takes each frame as it comes: a report then finds at most this many queued.
FILLING_FRAMES = 2


@dataclass(frozen=True, slots=True)
class ChunkInProgress:
    end: int  # its last sent position
    began: float  # when its processing began
    size: int  # frames per chunk
    queue: int  # the server queue, frames
    tolerance: int  # frames the send log and the queue may disagree by
    uncertainty: int = 0  # after a stall: its end is ``end`` or this much later (app.core.resume)


def estimate_end(chunk: ChunkInProgress, reports: Sequence[tuple[float, int]], log: SendLog, *,
                 typical: float | None, later_final: float | None) -> tuple[float | None, bool, int | None]:
    """(end time, exact, the next chunk's start if a report pins it); (None, False, None) while no
    report and no later final shows the chunk ended. ``reports``: (time, queued frames) from
    ``chunk.began`` on, in order; ``typical``: a recent processing time, if known."""
    low, high, seen = chunk.began, None, None
    places = (chunk.end, chunk.end + chunk.uncertainty) if chunk.uncertainty else (chunk.end,)
    for at, q in reports:
        # consistent with the chunk still being processed (or too early to tell); more queued than that:
        # the recognizer has not even pulled it yet (a server slow to pull after a final)
        if any(fits(log, at, q, end, chunk.queue, chunk.tolerance, pulled=False) for end in places):
            low = at
            continue
        high, seen = at, q
        break
    if high is None:
        if later_final is None:
            return None, False, None
        high = later_final
    guess = chunk.began + typical if typical is not None else (low + high) / 2
    if not low <= guess <= high:  # the recognizer's speed changed: the bracket's middle is off the least
        guess = (low + high) / 2
    # a pin needs the queue's newest frame: not when a latest batch bigger than the tolerance may be missing
    settled = high is not None and log.newest(high) - log.surely(high, REPORT_LAG_SECONDS) <= chunk.tolerance
    if seen is not None and settled and chunk.tolerance < seen < chunk.queue - chunk.tolerance:
        next_end = log.newest(high) - seen  # the chunk in progress at ``high`` ends here
        next_start = next_end - chunk.size + 1
        if next_start > chunk.end + chunk.uncertainty + 1:  # a gap: the queue held exactly next_start..
            pulled = log.arrival(next_start + chunk.queue - 1)
            if pulled is not None:
                return min(max(pulled, low), high), True, next_start
        if next_start > chunk.end:
            return guess, False, next_start
        # the chunk in progress then ends within this one: the report contradicts this place, pins nothing
    return guess, False, None


def placed_by_report(reports: Sequence[tuple[float, int]], log: SendLog, *, size: int, queue: int,
                     tolerance: int, since: float, ended: float, after: int) -> tuple[int, int] | None:
    """(last position, frames it may be off) of a chunk that a final says ended at ``ended`` and whose
    place the model only estimated, from the latest report between ``since`` (the previous chunk's end)
    and ``ended`` that found the queue partly full (a pin, as above); None if none did. A report whose
    pin would not start after ``after`` (the previous chunk's last position) was taken during an
    earlier chunk. ``reports``: (time, queued frames), in order."""
    first = bisect.bisect_right(reports, (since, queue + 1))
    last = bisect.bisect_left(reports, (ended, -1))
    for at, q in reversed(reports[first:last]):
        newest, surely = log.newest(at), log.surely(at, REPORT_LAG_SECONDS)
        # more queued than a filling recognizer leaves, even if the server had not read the last batch
        if not newest - surely + FILLING_FRAMES < q < queue - tolerance:
            continue
        if newest - surely > tolerance or newest - q - size + 1 <= after:
            continue
        return newest - q, newest - surely
    return None


def fits(log: SendLog, at: float, q: int, end: int, queue: int, tolerance: int, *,
         pulled: bool = True) -> bool:
    """Whether a report read at ``at`` that found ``q`` frames queued fits a chunk ending at ``end``
    still being processed: the queue then held what arrived after ``end``, written by ``at`` or, the
    report being read late, up to ``REPORT_LAG_SECONDS`` before. ``pulled=False`` also accepts more
    queued than that (the chunk not pulled yet, so not ended either)."""
    least = max(0, min(queue, log.newest(at - REPORT_LAG_SECONDS) - end))
    most = max(0, min(queue, log.newest(at) - end))
    return least - tolerance <= q and (not pulled or q <= most + tolerance)


def spread(log: SendLog, end: int, queue: int, low: float, high: float) -> int:
    """How far the next chunk's start may be off when this one ended somewhere in [low, high]."""
    return max(end + 1, log.newest(high) - queue + 1) - max(end + 1, log.newest(low) - queue + 1)
