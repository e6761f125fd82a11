"""A server that stalled (stopped, its socket open) and resumed: what ``app.core.server_lane`` cannot
know exactly about its chunks then, and the report that settles it.

Pure. A server that reports its load sends metrics every second; silent for ``STALL_SECONDS`` it was
stopped, and what the client wrote meanwhile reached it only when it spoke again (a ``Resume``). The
chunk it was in ends at once then, and whether it pulled its successor before or after reading what sat
in the socket is a race (``after_resume``). A report taken while that successor is processed and that
finds its queue partly full says where it ends (``placed``). Reports within ``RESUME_SECONDS`` of a
resume saw an unknown part of the socket's backlog and are no evidence at all.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import NamedTuple

from app.core.chunk_end import fits
from app.core.send_log import SendLog

STALL_SECONDS = 2.0
RESUME_SECONDS = 0.5
MAX_RESUMES = 64


class Resume(NamedTuple):
    at: float  # the server's first message after the silence
    before: int  # positions below this had arrived before the stall
    after: int  # ... below this by ``at`` (the ones between sat in the socket)


def after_resume(resumes: Sequence[Resume], queue: int, *, began: float, ended: float, end: int,
                 following: int, uncertain: int) -> tuple[int, int]:
    """(next start, uncertainty) after a chunk (last position ``end``) processed from ``began`` to
    ``ended``: if it was in progress across a stall, the point estimate is "it pulled before reading
    the socket" (its end came first: seen on the real server and the reference backend) and the
    other outcome is added to the uncertainty; else ``following`` and ``uncertain`` unchanged."""
    for resume in reversed(resumes):
        if began < resume.at <= ended and resume.after > resume.before:
            low = max(end + 1, resume.before - queue)
            high = max(following, resume.after - queue)
            return low, uncertain + high - low
    return following, uncertain


def placed(reports: Sequence[tuple[float, int]], log: SendLog, *, queue: int, tolerance: int, end: int,
           uncertain: int, began: float, ended: float) -> int | None:
    """Which outcome of the race (``after_resume``) a chunk processed from ``began`` to ``ended`` came
    from: 0 (it ends at ``end``) or ``uncertain`` (that much later), once a report meanwhile found its
    queue partly full and fits only one of them; None until one does. ``reports``: (time, queued
    frames), in order."""
    for at, q in reports[bisect.bisect_right(reports, (began, queue + 1)):]:
        if at >= ended:
            break
        if tolerance < q < queue - tolerance:
            early, late = (fits(log, at, q, e, queue, tolerance) for e in (end, end + uncertain))
            if early != late:  # it tells the two outcomes apart
                return 0 if early else uncertain
    return None
