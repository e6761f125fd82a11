"""The backpressure model's per-source load: what the server last said about one source's queue,
and the server drops the session attributed to it (``BackpressureModel.attribute``). Mutable,
private to ``app.core.backpressure``; pure, no I/O.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from app.core.level import SourceLoad
from app.core.messages import MetricsEvent

MAX_DROP_EVENTS = 512  # per source; metrics come ~1/s, so a 10 s window needs ~20


def finite(value: float | None, low: float, high: float) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return min(max(value, low), high)


@dataclass(slots=True)
class SourceTrack:
    """Mutable per-source state."""

    fill: float = 0.0
    backlog: float = 0.0
    rtf: float | None = None
    metrics_at: float | None = None  # None: no metrics on this connection yet
    drops: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=MAX_DROP_EVENTS))
    dropped_total: float = 0.0

    def read(self, ev: MetricsEvent) -> None:
        """Missing fields keep the last known value; the backlog falls back to fill × 2 s queue."""
        max_backlog = finite(ev.max_backlog_seconds, 0.0, 3600.0) or 2.0
        fill = finite(ev.fill_ratio, 0.0, 1.5)
        backlog = finite(ev.backlog_seconds, 0.0, 3600.0)
        if fill is None and backlog is not None:
            fill = min(backlog / max_backlog, 1.5)
        if fill is not None:
            self.fill = fill
            self.backlog = backlog if backlog is not None else fill * max_backlog
        self.rtf = finite(ev.realtime_factor, 0.0, 1e6)

    def add_drop(self, now: float, seconds: float) -> None:
        self.drops.append((now, seconds))
        self.dropped_total += seconds

    def recent_drops(self, now: float, window: float) -> float:
        """Seconds dropped within the last ``window`` seconds."""
        return sum(s for at, s in self.drops if now - at <= window)

    def as_source_load(self, source: str, now: float, window: float, fresh: bool) -> SourceLoad:
        return SourceLoad(
            source=source,
            fill_ratio=self.fill,
            backlog_seconds=self.backlog,
            dropped_recent_seconds=self.recent_drops(now, window),
            dropped_total_seconds=self.dropped_total,
            updated_at=self.metrics_at or 0.0,
            fresh=fresh,
            realtime_factor=self.rtf,
        )
