"""Whether the two sources of one connection are drained by ONE recognizer (the real server can be
configured so; CONTRACT.md 10), judged from the chunks their lane mirrors (``app.core.server_lane``) found.

The evidence is when each chunk's processing ended (its final, or metrics) and the earliest it could
have begun on its own lane (``started``: its last frame arrived and the lane's previous chunk was
done). Two hypotheses explain the same ends:

- independent: a chunk took ``ended - started`` (its own-lane time);
- shared: a chunk also waited for the other source's chunk in progress, so it took only
  ``ended - max(started, the other source's last end before it)`` (its shared time).

A healthy session, or one recognizer per source fed in step, fits both, so the verdict stays
"independent" (nothing is held back) unless the shared hypothesis explains the ends clearly better:
EACH source's chunks were seen waiting for the other's (own-lane time at least ``WAIT_RATIO`` times the
shared time), and the shared times are consistent (none below ``CONSISTENT_SHARE`` of the source's
median, nor of what its chunks that waited for nothing took: two recognizers whose ends come together
or drift past each other give some chunk a shared time near zero, which one recognizer never does),
and no source was served twice in a row while a chunk of the other was ready (one recognizer takes
ready chunks in turn).

A wrong "shared" is cheap: the verdict is also a prediction. Once shared, a chunk of a source that
ran with no chunk of the other source anywhere near it (the throttle holds the other source back) must
take about its shared time; if it takes ``REFUTE_RATIO`` times that, the recognizers are independent
after all, the verdict drops at once and only chunks begun after that can bring it back.

Pure; the caller passes the chunks.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence

from app.core.lane_history import Chunk

EVIDENCE = 3  # chunks seen waiting (of both sources, at least one each) before judging
WINDOW = 6  # recent chunks per source judged
RECENT_WAITS = 2  # per source, the most recent chunks seen waiting are compared
WAIT_RATIO = 1.5
CONSISTENT_SHARE = 0.5
REFUTE_RATIO = 1.2  # a chunk alone this much slower than its shared time, at least, refutes
MIN_SECONDS = 0.1  # no recognizer takes a chunk in less: a shared time below is two ends together
READY_SLACK = 0.1  # seconds a chunk's readiness may be misjudged by


class SharedRecognizer:
    """See the module docstring. ``judge`` with every source's chunks (any time; idempotent)."""

    def __init__(self) -> None:
        self.shared = False
        self._since = 0.0  # only chunks begun at or after this may bring a verdict
        self._expected: dict[str, tuple[float, float]] = {}  # (shared, own-lane) time at the verdict
        self._detected_at = 0.0  # the newest chunk end the verdict saw
        self.refutations = 0

    def judge(self, chunks: Mapping[str, Sequence[Chunk]]) -> bool:
        if len(chunks) != 2:
            return False
        (a, ca), (b, cb) = chunks.items()
        if self.shared:
            recent = {s: [c for c in cs[-WINDOW:] if c.ended is not None and c.ended > self._detected_at]
                      for s, cs in chunks.items()}
            if (self._refuted(a, ca, cb) or self._refuted(b, cb, ca)
                    or _overtaken(recent[a], cb) or _overtaken(recent[b], ca)):
                self.shared = False
                self.refutations += 1
                self._since = max(c.ended for c in (*ca, *cb) if c.ended is not None)
            return self.shared
        fresh = {s: [c for c in cs if c.started >= self._since][-WINDOW:] for s, cs in chunks.items()}
        if _overtaken(fresh[a], fresh[b]) or _overtaken(fresh[b], fresh[a]):
            return False
        waits = {source: _waits(fresh[source], fresh[other]) for source, other in ((a, b), (b, a))}
        if min(len(w) for w, _ in waits.values()) < 1 or sum(len(w) for w, _ in waits.values()) < EVIDENCE:
            return False
        expected: dict[str, tuple[float, float]] = {}
        for source, (waited, alone) in waits.items():
            timed = waited[-RECENT_WAITS:]  # the recognizer's speed changes: compare recent ones
            shared_times = [s for _, s in timed]
            typical = statistics.median(shared_times)
            took = statistics.median(alone) if alone else typical
            floor = max(MIN_SECONDS, CONSISTENT_SHARE * max(typical, took))
            if min(shared_times) < floor:
                return False  # two ends together, or a chunk that waited for nothing took longer
            if not any(own >= WAIT_RATIO * s for own, s in timed):
                return False
            expected[source] = (typical, statistics.median(own for own, _ in timed))
        self.shared, self._expected = True, expected
        self._detected_at = max(c.ended for cs in fresh.values() for c in cs if c.ended is not None)
        return True

    def _refuted(self, source: str, mine: Sequence[Chunk], other: Sequence[Chunk]) -> bool:
        if source not in self._expected:
            return False
        shared_time, own_time = self._expected[source]
        limit = max(REFUTE_RATIO * shared_time, (shared_time + own_time) / 2)
        for c in mine[-WINDOW:]:
            if not c.exact or c.ended is None or c.ended <= self._detected_at:
                continue
            alone = not any(_overlap(o, c) for o in _near(other, c.started))
            if alone and c.ended - c.started > limit:
                return True
        return False


def _near(chunks: Sequence[Chunk], since: float) -> list[Chunk]:
    """The last chunks, back to the first that ended before ``since``."""
    out = []
    for c in reversed(chunks):
        out.append(c)
        if c.ended is not None and c.ended < since:
            break
    return out


def _overlap(o: Chunk, c: Chunk) -> bool:
    assert c.ended is not None
    return o.started < c.ended and (o.ended is None or o.ended > c.started)


def _overtaken(mine: Sequence[Chunk], other: Sequence[Chunk]) -> bool:
    """Whether two chunks of ``mine`` ended in a row while a chunk of ``other`` was ready before the
    first ended and still not done after the second: one recognizer, serving ready chunks in turn
    (FIFO by readiness, as the real server's and the reference backend's), never does that."""
    for first, second in itertools.pairwise(mine):
        if not (first.exact and second.exact) or first.ended is None or second.ended is None:
            continue
        for o in _near(other, first.ended):
            known = (o.exact or o.ended is None) and o.uncertainty == 0
            if known and o.started < first.ended - READY_SLACK and (
                    o.ended is None or o.ended > second.ended):
                return True
    return False


def _waits(mine: Sequence[Chunk], other: Sequence[Chunk]) -> tuple[list[tuple[float, float]], list[float]]:
    """(own-lane time, shared time) of each exact chunk of ``mine`` that, were the recognizer shared,
    waited for one of ``other`` (whose end, known exactly, came while it could have run); and the
    own-lane times of those that waited for nothing (what the chunk took, either way)."""
    ends = sorted((c.ended, c.exact) for c in other if c.ended is not None)
    waited, alone = [], []
    for c in mine:
        if not c.exact or c.ended is None:
            continue
        before = [(e, exact) for e, exact in ends if e <= c.ended]
        if not before or before[-1][0] <= c.started:
            if not any(o.ended is None and o.started < c.ended for o in other):
                alone.append(c.ended - c.started)
        elif before[-1][1]:
            waited.append((c.ended - c.started, c.ended - before[-1][0]))
    return waited, alone
