"""One source's send budget for adaptive throttling: a token bucket whose rate follows AIMD on the
server's queue for that source, with the backend's drain rate estimated from successive metrics.

Pure: no I/O, the caller passes ``now``. Rates are multiples of real time (1.0 = 50 frames/s).

* Drain estimate: between two metrics of the source, consumed = sent - delta(queue bytes) - server
  drops, with ``sent`` counting frames that really went out (not frames merely released upstream of
  the session's client buffer). While the server queue stayed busy (at least ``queue_busy_seconds``
  at both ends) that measures the backend's capacity; such samples feed an EWMA and keep the
  estimate FRESH for ``drain_fresh_seconds``. Any other interval without drops measures a lower
  bound (the backend consumed at least that much), which raises the estimate: it does not stay at an
  overload's value once the backend is fast again; one clearly above it (``OUTPACED``) makes it stale
  at once. A busy sample after a stale spell replaces the estimate rather than blending with it.
* Multiplicative decrease on server drops, or on a queue above ``queue_high`` that is not falling:
  rate x ``decrease_factor``, and at most ``drain_margin`` x the drain estimate so the server queue
  shrinks; at most once per ``rate_dwell_seconds`` (the queue needs that long to answer a cut).
* Increase when the budget was actually binding (frames waited for tokens), the queue is at or below
  ``queue_high``, no cut happened for a dwell time, at most once per ``increase_interval_seconds``:
  by ``increase_step``, or by ``increase_factor`` if the server queue stayed near empty (below
  ``queue_busy_seconds`` at both ends of the interval: the backend keeps up with what we send), so
  the rate climbs back to the catch-up rate in seconds once the backend is fast again. While the
  drain estimate is fresh, never beyond it (sending faster than the backend's measured pace only
  refills its queue), less what brings the server queue back down to ``queue_busy_seconds`` in
  about ``queue_settle_seconds`` (its queue is lag too); never beyond ``catchup_rate``. A budget
  that was NOT binding (a source that only had silence to skip) still climbs back to
  ``start_rate`` (real time) once the queue is near empty and the estimate stale, so it is no trap
  when that source's audio flows again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.messages import FRAME_BYTES, FRAME_SECONDS, MetricsEvent

BYTES_PER_SECOND = FRAME_BYTES / FRAME_SECONDS
QUEUE_BYTES_MAX = 64_000  # the server's per-source queue when metrics do not say (CONTRACT.md 4.2)
OUTPACED = 1.1  # an idle-queue sample this far above the estimate makes it stale (10 %: beyond jitter)


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


LATE_TICK_SECONDS = 0.04  # how late a session tick may come without the send budget losing tokens


@dataclass(frozen=True, slots=True)
class RateConfig:
    catchup_rate: float = 1.5  # the ceiling: backlog drains at most this fast
    min_rate: float = 0.1
    start_rate: float = 1.0
    increase_step: float = 0.05
    increase_factor: float = 1.25  # per interval, while the estimate is stale and the queue near empty
    increase_interval_seconds: float = 1.0
    decrease_factor: float = 0.7
    drain_margin: float = 0.85
    ewma_alpha: float = 0.3
    rate_dwell_seconds: float = 2.0
    # Tokens saved up between refills (one refill per session tick): at most this many frames go back
    # to back. It must hold a tick's worth at the catch-up rate plus a late tick, or the budget
    # silently caps below ``catchup_rate`` and below real time when ticks run late: see ``for_tick``.
    burst_frames: float = 5.0

    @classmethod
    def for_tick(cls, tick_seconds: float, late_seconds: float = LATE_TICK_SECONDS) -> RateConfig:
        """The default config with ``burst_frames`` sized for refills every ``tick_seconds`` that may
        come ``late_seconds`` late (at least the default 5)."""
        default = cls()
        need = default.catchup_rate * (tick_seconds + late_seconds) / FRAME_SECONDS
        return cls(burst_frames=max(default.burst_frames, float(math.ceil(need))))
    queue_high: float = 0.5  # server queue fill above which a queue that is not falling means "cut"
    queue_busy_seconds: float = 0.2
    drain_fresh_seconds: float = 3.0  # a drain estimate this old no longer caps increases
    queue_settle_seconds: float = 5.0  # under a fresh estimate, bring the server queue down in about this

    def __post_init__(self) -> None:
        if not 0 < self.min_rate <= self.start_rate <= self.catchup_rate:
            raise ValueError("need 0 < min_rate <= start_rate <= catchup_rate")
        if not (0 < self.decrease_factor < 1 and 0 < self.ewma_alpha <= 1 and self.burst_frames >= 1):
            raise ValueError("need decrease_factor in (0, 1), ewma_alpha in (0, 1], burst_frames >= 1")
        if self.increase_factor < 1 or self.drain_fresh_seconds < 0 or self.queue_settle_seconds <= 0:
            raise ValueError("need increase_factor >= 1, drain_fresh_seconds >= 0, queue_settle_seconds > 0")


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
        self._busy_at = -math.inf  # time of the last busy-queue drain sample

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

    def drain_fresh(self, now: float) -> bool:
        """Whether the drain estimate comes from a busy queue within ``drain_fresh_seconds``."""
        return self.drain is not None and now - self._busy_at <= self.config.drain_fresh_seconds

    def on_queue(
        self, now: float, sent_frames: int, queue_bytes: float, fill: float, drops: int, *, adapt: bool
    ) -> None:
        """One metrics message of this source: ``sent_frames`` = frames really sent so far on this
        connection, ``drops`` = server drops attributed to this source since its last metrics."""
        busy_bytes = self.config.queue_busy_seconds * BYTES_PER_SECOND
        before = self._sample
        idle = before is not None and max(before[2], queue_bytes) < busy_bytes
        trend = 0.0 if before is None else queue_bytes - before[2]
        self._estimate(now, sent_frames, queue_bytes, drops)
        if adapt:
            self._adapt(now, drops, fill, falling=trend < -2 * FRAME_BYTES, idle=idle,
                        excess=max(0.0, queue_bytes - busy_bytes) / BYTES_PER_SECOND)
        self._limited = False

    def _estimate(self, now: float, sent_frames: int, queue: float, drops: int) -> None:
        cfg = self.config
        if self._sample is not None:
            then, sent, queued = self._sample
            if now - then > 0.2 and sent_frames >= sent:
                consumed = (sent_frames - sent) * FRAME_BYTES - (queue - queued) - drops * FRAME_BYTES
                sample = max(0.0, consumed) / (now - then) / BYTES_PER_SECOND
                if min(queued, queue) >= cfg.queue_busy_seconds * BYTES_PER_SECOND:
                    if self.drain is not None and self.drain_fresh(now):
                        self.drain = cfg.ewma_alpha * sample + (1 - cfg.ewma_alpha) * self.drain
                    else:
                        self.drain = sample
                    self._busy_at = now
                elif drops == 0 and self.drain is not None:
                    if sample > self.drain * OUTPACED:  # the backend is clearly faster now: it no longer caps
                        self._busy_at = -math.inf
                    self.drain = max(self.drain, sample)  # the backend consumed at least this much
        self._sample = (now, sent_frames, queue)

    def _adapt(
        self, now: float, drops: int, fill: float, *, falling: bool, idle: bool, excess: float
    ) -> None:
        """``excess``: seconds queued on the server beyond ``queue_busy_seconds``."""
        cfg = self.config
        if drops > 0 or (fill > cfg.queue_high and not falling):
            if now - self._cut_at >= cfg.rate_dwell_seconds:
                rate = self.rate * cfg.decrease_factor
                if self.drain is not None:
                    rate = min(rate, self.drain * cfg.drain_margin)
                self.rate, self._cut_at = max(cfg.min_rate, rate), now
                self.cuts += 1
            return
        if fill > cfg.queue_high or now - self._cut_at < cfg.rate_dwell_seconds:
            return
        if now - self._raised_at < cfg.increase_interval_seconds:
            return
        fresh = self.drain_fresh(now)
        if self._limited:
            ceiling = cfg.catchup_rate
        elif idle and not fresh:
            ceiling = cfg.start_rate  # a low budget nothing used is stale too: back to real time
        else:
            return
        rate = self.rate + cfg.increase_step
        if idle:  # the backend keeps up with what we send: climb back quickly
            rate = max(rate, self.rate * cfg.increase_factor)
        if fresh and self.drain is not None:  # ...but not beyond its measured pace, less what drains
            rate = min(rate, self.drain - excess / cfg.queue_settle_seconds)  # the server queue back down
        rate = min(ceiling, rate)
        if rate > self.rate:
            self.rate, self._raised_at = rate, now
