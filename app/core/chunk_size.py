"""The server recognizer's chunk size, inferred from its queue reports (it is not on the wire).

The real server's ``ECHOPANEL_ASR_CHUNK_SECONDS`` is 2 s by default, sometimes 4 s (CONTRACT.md 10).
Before the server dropped anything, its chunks are back to back, and a ``metrics`` message that finds
the queue busy (``0 < q < queue``) says where the chunk in progress ends: ``newest - q``, one frame
before a chunk boundary. A size is consistent with those ends when 90 % of them fall on its
boundaries. Every divisor of the true size is consistent too, so the LARGEST consistent candidate
wins: at once if the current size is contradicted, after ``INFER_EVIDENCE`` distinct ends if the
current size is merely a divisor of a larger consistent one. Evidence is counted in DISTINCT ends: a
slow recognizer behind a client that holds back at the credit is reported with the same end for as
long as the chunk takes (8 s at RTF 4), and one end fits many sizes. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

CHUNK_CANDIDATES = (5, 25, 50, 100, 150, 200, 250, 300, 400)  # frames: 0.1 s .. 8 s
INFER_EVIDENCE = 5  # distinct chunk ends needed to prefer a larger chunk than the current one
MIN_EVIDENCE = 3


def infer_chunk_frames(metrics: Sequence[tuple[float, int]], newest: Callable[[float], int], current: int,
                       queue_frames: int, tolerance: int) -> int:
    """The chunk size (frames) the reports ``(time, queued frames)`` support; ``current`` if unsure.
    ``newest(t)``: the last position sent before ``t``. Only reports before the queue was ever nearly
    full count (a drop breaks the back-to-back chunks)."""
    ends: list[int] = []
    for at, q in metrics:
        if q >= queue_frames - tolerance:
            break
        end = newest(at) - q + 1
        if q > tolerance and (not ends or abs(end - ends[-1]) > tolerance):  # the same chunk, again
            ends.append(end)
    if len(ends) < MIN_EVIDENCE:
        return current

    def consistent(size: int) -> bool:
        slack = min(tolerance, size // 10)
        hits = sum(1 for e in ends if min(e % size, size - e % size) <= slack)
        return hits >= 0.9 * len(ends)

    fitting = [size for size in CHUNK_CANDIDATES if consistent(size)]
    if not fitting:
        return current
    best = max(fitting)
    if best == current or (consistent(current) and len(ends) < INFER_EVIDENCE):
        return current
    return best
