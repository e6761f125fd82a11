"""Real-time factor as the real server measures it: between transcripts. Pure, clock injected.

Per source, each ``asr_final`` that covers audio (t1 > t0) and has a previous final on the same source
gives a sample ``(gap, duration)``: the wall time since that previous final and the audio this one
covers. Metrics report, over the last 10 samples, ``realtime_factor`` = sum(gaps) / sum(durations)
and ``avg_infer_ms`` = mean gap in ms. A healthy chunked recognizer thus reports about 1.0 (a final
every chunk, each covering a chunk) whatever its real speed; an overloaded one about its real RTF.

Every recognizer event counts; the degrade ladder is checked with the sample of every 5th one.

``ClockSpread`` is the spread of the sources' latest ``t1`` (``source_clock_spread_ms`` and its max).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

SAMPLE_WINDOW = 10
LADDER_EVERY = 5


class FinalsMeter:
    """One source's between-finals samples and event count."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last_final_at: float | None = None
        self._samples: deque[tuple[float, float]] = deque(maxlen=SAMPLE_WINDOW)
        self.events = 0

    def final(self, t0: float, t1: float) -> float | None:
        """Count a final; return the RTF sample to check the ladder with, if a check is due."""
        now = self._clock()
        self.events += 1
        due: float | None = None
        duration = t1 - t0
        if self._last_final_at is not None and duration > 0:
            gap = now - self._last_final_at
            self._samples.append((gap, duration))
            if self.events % LADDER_EVERY == 0:
                due = gap / duration
        self._last_final_at = now
        return due

    @property
    def realtime_factor(self) -> float:
        gaps = sum(g for g, _ in self._samples if g > 0)
        audio = sum(d for _, d in self._samples if d > 0)
        return gaps / audio if audio > 0 else 0.0

    @property
    def avg_gap_ms(self) -> float:
        if not self._samples:
            return 0.0
        return 1000 * sum(g for g, _ in self._samples) / len(self._samples)


class ClockSpread:
    """How far apart the sources' transcripts are on their own timelines, in ms."""

    def __init__(self) -> None:
        self._last_t1: dict[str, float] = {}
        self.spread_ms = 0.0
        self.max_spread_ms = 0.0

    def final(self, source: str, t1: float) -> None:
        self._last_t1[source] = t1
        if len(self._last_t1) < 2:
            self.spread_ms = 0.0
            return
        self.spread_ms = 1000 * (max(self._last_t1.values()) - min(self._last_t1.values()))
        self.max_spread_ms = max(self.max_spread_ms, self.spread_ms)
