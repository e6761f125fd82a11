"""Flow control: how many frames each source may send now. The one owner of the send rate.

Pure, injected times; one ``FlowControl`` per connection, asked once per session tick per source.
It combines three limits:

* **Liveness.** Once the server has shown that it reports its load (a first ``metrics`` message; they
  come every second while it works), a silence of ``stall_seconds`` means it stopped consuming: nothing
  more is written, so audio stays in the client's bounded hold, not in kernel buffers where a dead or
  frozen backend would lose it. Writing resumes with the server's next word. A backend that sends no
  metrics in a connection's first ``stall_seconds`` is not judged by them (nor by its queue).
* **The server's queue** (``app.core.server_lane.LaneMirror.credit``): frames are sent only while the
  source's server queue stays ``margin_frames`` below full until the recognizer is seen to take its
  next chunk, so catching up runs exactly at the drain rate the backend demonstrates, whatever its
  speed, and never makes it drop. With throttling on, EVERY frame obeys this. With it off, live audio
  still goes at real time (a backlog the server cannot take is the server's to drop, as with the
  macOS client), and only a backlog beyond real time (after a reconnect, a stall, at stop) waits for
  credit.
* **A ceiling** of ``ceiling`` x real time per source (a bucket of ``CEILING_BURST_SECONDS`` of it), so
  a wide-open credit never turns into one huge write.

The real-time share is a token bucket at 1x whose burst covers one late tick, so a late tick sends
what came due meanwhile and real time is kept on average; unused real-time tokens do not pile up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.messages import FRAME_SECONDS

LATE_TICK_SECONDS = 0.04
# The ceiling's bucket holds this much (x ceiling): after the credit was shut for a moment (right after
# a final, until the recognizer surely pulled), the next chunk's worth goes in a tick or two instead of
# trickling at the ceiling's rate while the recognizer waits for it (catch-up speed, issue 12).
CEILING_BURST_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class FlowConfig:
    margin_frames: int = 10  # the server queue is kept this far below full (0.2 s)
    ceiling: float = 4.0  # x real time, per source
    stall_seconds: float = 3.0  # server silent this long: stop writing
    tick_seconds: float = 0.24  # the session's tick (app.session.config.DEFAULT_TICK_SECONDS)

    def __post_init__(self) -> None:
        if self.margin_frames < 0 or self.ceiling < 1.0 or self.stall_seconds <= 0 or self.tick_seconds <= 0:
            raise ValueError("need margin_frames >= 0, ceiling >= 1, stall_seconds > 0, tick_seconds > 0")


class _Bucket:
    def __init__(self, rate_frames: float, burst_frames: float) -> None:
        self.rate, self.burst = rate_frames, burst_frames
        self.tokens = burst_frames
        self._at: float | None = None

    def refill(self, now: float) -> None:
        if self._at is not None:
            self.tokens = min(self.burst, self.tokens + max(0.0, now - self._at) * self.rate)
        self._at = now

    def take(self, frames: int) -> None:
        self.tokens = max(0.0, self.tokens - frames)


class LaneFlow:
    """One source's limits on one connection (see the module docstring)."""

    def __init__(self, config: FlowConfig) -> None:
        per_tick = (config.tick_seconds + LATE_TICK_SECONDS) / FRAME_SECONDS
        self._config = config
        self._realtime = _Bucket(1.0 / FRAME_SECONDS, math.ceil(per_tick))
        burst = max(per_tick, CEILING_BURST_SECONDS / FRAME_SECONDS)
        self._ceiling = _Bucket(config.ceiling / FRAME_SECONDS, math.ceil(config.ceiling * burst))

    def allowance(self, now: float, credit: int, *, throttled: bool, live: bool) -> int:
        """Frames that may go now. ``credit``: what the server queue can take (``LaneMirror.credit``);
        ``live``: the server spoke within ``stall_seconds``."""
        self._realtime.refill(now)
        self._ceiling.refill(now)
        if not live:
            return 0
        cap = int(self._ceiling.tokens)
        queue = max(0, credit)
        if throttled:
            return min(cap, queue)
        return min(cap, max(int(self._realtime.tokens), queue))

    def spent(self, frames: int) -> None:
        self._realtime.take(frames)
        self._ceiling.take(frames)


class FlowControl:
    """Every source's ``LaneFlow`` on one connection, plus the server's liveness."""

    def __init__(self, config: FlowConfig, opened_at: float) -> None:
        self.config = config
        self._heard_at = self._opened_at = opened_at
        self.reports_load = False  # a metrics message came: silence now means a stall
        self._lanes: dict[str, LaneFlow] = {}

    def heard(self, at: float, *, metrics: bool = False) -> None:
        """The server sent something (``metrics``: a metrics message)."""
        self._heard_at = max(self._heard_at, at)
        self.reports_load = self.reports_load or metrics

    def judged_without_metrics(self, now: float) -> bool:
        """No metrics message came in the connection's first ``stall_seconds`` (they come every second
        while a server works): it does not report its load, and is not judged by it."""
        return not self.reports_load and now - self._opened_at >= self.config.stall_seconds

    def live(self, now: float) -> bool:
        return not self.reports_load or now - self._heard_at < self.config.stall_seconds

    def silent_for(self, now: float) -> float:
        return max(0.0, now - self._heard_at)

    def lane(self, source: str) -> LaneFlow:
        flow = self._lanes.get(source)
        if flow is None:
            flow = self._lanes[source] = LaneFlow(self.config)
        return flow
