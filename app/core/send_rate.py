"""One source's send budget for adaptive throttling: a token bucket whose rate follows AIMD on the
server's queue for that source, with the backend's drain rate estimated from successive metrics.

Pure: no I/O, the caller passes ``now``. Rates are multiples of real time (1.0 = 50 frames/s).

* Drain estimate: between two metrics of the source, consumed = sent - delta(queue bytes) - server
  drops. Only while the server queue stayed busy (at least ``queue_busy_seconds`` at both ends) does
  that measure the backend's capacity rather than our own demand; those samples feed an EWMA.
* Multiplicative decrease on server drops, or on a queue above ``queue_high`` that is not falling:
  rate x ``decrease_factor``, and at most ``drain_margin`` x the drain estimate so the server queue
  shrinks; at most once per ``rate_dwell_seconds`` (the queue needs that long to answer a cut).
* Additive increase by ``increase_step`` per ``increase_interval_seconds`` while the queue is low,
  only when the budget was actually binding (frames waited for tokens) and no cut happened for a
  dwell time: the rate grows back gradually and never beyond ``catchup_rate``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.messages import FRAME_BYTES, FRAME_SECONDS, MetricsEvent

BYTES_PER_SECOND = FRAME_BYTES / FRAME_SECONDS
QUEUE_BYTES_MAX = 64_000  # the server's per-source queue when metrics do not say (CONTRACT.md 4.2)


def queue_bytes(ev: MetricsEvent) -> float | None:
    """The source's server queue in bytes: as reported, else from the fill ratio or the backlog."""
    fill, backlog = ev.queue_fill_ratio, ev.backlog_seconds
    candidates = (
        ev.queue_bytes,
        None if fill is None else fill * (ev.queue_bytes_max or QUEUE_BYTES_MAX),
        None if backlog is None else backlog * BYTES_PER_SECOND,
    )
    for value in candidates:
        if value is not None and math.isfinite(value) and value >= 0:
            return float(value)
    return None


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


@dataclass(frozen=True, slots=True)
class RateConfig:
    catchup_rate: float = 1.5  # the ceiling: backlog drains at most this fast
    min_rate: float = 0.1
    start_rate: float = 1.0
    increase_step: float = 0.05
    increase_interval_seconds: float = 1.0
    decrease_factor: float = 0.7
    drain_margin: float = 0.85
    ewma_alpha: float = 0.3
    rate_dwell_seconds: float = 2.0
    burst_frames: float = 5.0  # tokens saved up while idle: at most 100 ms sent back to back
    queue_high: float = 0.5  # server queue fill above which a queue that is not falling means "cut"
    queue_busy_seconds: float = 0.2

    def __post_init__(self) -> None:
        if not 0 < self.min_rate <= self.start_rate <= self.catchup_rate:
            raise ValueError("need 0 < min_rate <= start_rate <= catchup_rate")
        if not (0 < self.decrease_factor < 1 and 0 < self.ewma_alpha <= 1 and self.burst_frames >= 1):
            raise ValueError("need decrease_factor in (0, 1), ewma_alpha in (0, 1], burst_frames >= 1")


class SendRate:
    """Token bucket + AIMD for one source. ``take`` a token per frame sent."""

    def __init__(self, config: RateConfig | None = None) -> None:
        self.config = config or RateConfig()
        self.rate = self.config.start_rate
        self.drain: float | None = None  # estimated backend drain rate, x real time
        self.tokens = 1.0
        self.cuts = 0
        self._refilled_at: float | None = None
        self._cut_at = -math.inf
        self._raised_at = -math.inf
        self._limited = False
        self._sample: tuple[float, int, float] | None = None  # (time, sent frames, queue bytes)

    @property
    def effective(self) -> float:
        return min(self.rate, self.config.catchup_rate)

    def refill(self, now: float) -> None:
        if self._refilled_at is not None:
            earned = max(0.0, now - self._refilled_at) * self.effective / FRAME_SECONDS
            self.tokens = min(self.config.burst_frames, self.tokens + earned)
        self._refilled_at = now

    def take(self) -> bool:
        """Spend one token if there is one; otherwise remember that the budget was binding."""
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self._limited = True
        return False

    def restart(self) -> None:
        """A new connection or a toggle: forget the queue sample and the saved-up tokens, keep the rate."""
        self._sample, self._refilled_at, self.tokens = None, None, 1.0

    def on_queue(
        self, now: float, sent_frames: int, queue_bytes: float, fill: float, drops: int, *, adapt: bool
    ) -> None:
        """One metrics message of this source: ``sent_frames`` = frames sent so far on this
        connection, ``drops`` = server drops attributed to this source since its last metrics."""
        trend = 0.0 if self._sample is None else queue_bytes - self._sample[2]
        self._estimate(now, sent_frames, queue_bytes, drops)
        if adapt:
            self._adapt(now, drops, fill, falling=trend < -2 * FRAME_BYTES)
        self._limited = False

    def _estimate(self, now: float, sent_frames: int, queue: float, drops: int) -> None:
        if self._sample is not None:
            then, sent, queued = self._sample
            busy = min(queued, queue) >= self.config.queue_busy_seconds * BYTES_PER_SECOND
            if now - then > 0.2 and busy and sent_frames >= sent:
                consumed = (sent_frames - sent) * FRAME_BYTES - (queue - queued) - drops * FRAME_BYTES
                sample = max(0.0, consumed) / (now - then) / BYTES_PER_SECOND
                a = self.config.ewma_alpha
                self.drain = sample if self.drain is None else a * sample + (1 - a) * self.drain
        self._sample = (now, sent_frames, queue)

    def _adapt(self, now: float, drops: int, fill: float, *, falling: bool) -> None:
        cfg = self.config
        if drops > 0 or (fill > cfg.queue_high and not falling):
            if now - self._cut_at >= cfg.rate_dwell_seconds:
                rate = self.rate * cfg.decrease_factor
                if self.drain is not None:
                    rate = min(rate, self.drain * cfg.drain_margin)
                self.rate, self._cut_at = max(cfg.min_rate, rate), now
                self.cuts += 1
        elif (
            fill <= cfg.queue_high
            and self._limited
            and now - self._cut_at >= cfg.rate_dwell_seconds
            and now - self._raised_at >= cfg.increase_interval_seconds
        ):
            self.rate = min(cfg.catchup_rate, self.rate + cfg.increase_step)
            self._raised_at = now
