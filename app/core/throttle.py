"""Adaptive throttling: the backpressure level, server metrics and the local backlog in; which frames to
send now, hold, skip or shed out (issue "adaptive throttling"; CONTRACT.md sections 4.2, 5 and 6).

Pure, injected clock. One ``ThrottlePolicy`` per session, on the event-loop thread: ``push`` every
captured frame, ``next_frames`` every session tick, ``on_level`` every LevelReport, ``on_metrics``
every MetricsEvent. Disabled (``enabled = False``) it is a pass-through: each pushed frame comes out
of the next ``next_frames`` call, nothing held, skipped or shed, so the session's baseline path
(real-time pacing, bounded buffer, drop-oldest) is unchanged. Enabled, as the level rises:

1. Silence is skipped (``mode`` SKIP_SILENCE from ``buffering`` up, or while more than
   ``skip_when_held_seconds`` is held): frames the VAD (``app.core.vad``) calls silence, outside
   200 ms of lookahead and 300 ms of hangover around speech, are not sent; counted per source.
   Skipping ends once the level is back to normal, every source's send budget affords real time
   again and less than a fifth of that is held, not counting the frames that only wait for their
   VAD lookahead: those are not a backlog.
2. Audio is held on the client instead of being dropped by the server: each source's send budget
   follows AIMD on its own server queue, matched to the backend's observed drain rate
   (``app.core.send_rate``: consumed = sent - delta(queue bytes) - drops, EWMA-smoothed; "sent"
   counts the frames the session really sent, via ``time_map.record_sent``).
3. Under ``overloaded`` (mode MIC_FIRST) system audio is held entirely while a microphone is
   streamed: the microphone keeps the backend's capacity.
4. The local backlog (``app.core.hold``: the held frames per source and their VAD decisions) holds at
   most ``backlog_seconds`` over all sources; when full it sheds silence first, then the oldest
   system audio, then the oldest microphone audio, every frame counted.
5. Catching up after recovery never exceeds ``catchup_rate`` (1.5x): the rate grows back up to the
   measured drain while that is fresh, then multiplicatively while the server queue stays near
   empty, so a backlog drains in seconds without refilling the server queue at once.

Mode changes and rate cuts happen at most once per dwell time, so a backend hovering at a threshold
cannot make the policy oscillate; toggling ``enabled`` mid-stream loses or duplicates no frame.
``time_map`` (``app.core.timemap``) keeps transcript times true, throttling on or off: the session
records each frame it sends, the policy the server's drops, blamed per source (``app.core.drop_blame``:
the server counts them session-wide); ``time_map.to_capture_time`` maps ``t0``/``t1`` back to capture time.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic

from app.core.drop_blame import DropBlame
from app.core.hold import F, Hold
from app.core.level import Level, LevelReport
from app.core.messages import FRAME_BYTES, FRAME_SECONDS, MetricsEvent, Source
from app.core.send_rate import QUEUE_BYTES_MAX, RateConfig, queue_bytes
from app.core.timemap import TimeMap
from app.core.vad import EnergyVad, VadConfig, VoiceDetector


class ThrottleMode(enum.StrEnum):
    OFF = "off"  # disabled: pass-through
    LIVE = "live"  # enabled, healthy: everything sent, a backlog drains at most at the catch-up rate
    SKIP_SILENCE = "skip_silence"
    MIC_FIRST = "mic_first"  # silence skipped and system audio held


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    backlog_seconds: float = 30.0  # one pool, all sources (session: per-source bound - 0.5 s)
    mode_dwell_seconds: float = 3.0
    skip_when_held_seconds: float = 1.0
    rate: RateConfig = field(default_factory=RateConfig)
    vad: VadConfig = field(default_factory=VadConfig)

    def __post_init__(self) -> None:
        if self.backlog_seconds <= 0 or self.mode_dwell_seconds < 0:
            raise ValueError("backlog_seconds must be > 0 and mode_dwell_seconds >= 0")


@dataclass(frozen=True, slots=True)
class SourceThrottle:
    source: str
    held_seconds: float  # waiting on the client now
    shed_seconds: float  # dropped by the client because its backlog was full (not server drops)
    skipped_seconds: float  # silence not sent
    sent_seconds: float
    rate: float  # current send budget, x real time
    drain_estimate: float | None  # the backend's drain rate for this source, x real time


@dataclass(frozen=True, slots=True)
class ThrottleState:
    enabled: bool
    mode: ThrottleMode
    text: str  # e.g. "microphone only, holding 4.2 s, skipping silence"; "" when off
    since: float  # clock time the mode was entered
    sources: tuple[SourceThrottle, ...] = ()

    @property
    def held_seconds(self) -> dict[str, float]:
        return {s.source: s.held_seconds for s in self.sources}

    @property
    def shed_seconds(self) -> dict[str, float]:
        return {s.source: s.shed_seconds for s in self.sources}

    @property
    def skipped_seconds(self) -> dict[str, float]:
        return {s.source: s.skipped_seconds for s in self.sources}


class ThrottlePolicy(Generic[F]):
    """See the module docstring. ``detector_factory`` makes one VAD per source (default ``EnergyVad``)."""

    def __init__(
        self,
        config: ThrottleConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        enabled: bool = False,
        detector_factory: Callable[[], VoiceDetector] | None = None,
    ) -> None:
        self.config = cfg = config or ThrottleConfig()
        self._clock = clock
        capacity = max(1, round(cfg.backlog_seconds / FRAME_SECONDS))
        detectors = detector_factory or (lambda: EnergyVad(cfg.vad))
        self._hold: Hold[F] = Hold(capacity, cfg.rate, cfg.vad, detectors)
        self._lanes = self._hold.lanes
        self._level = Level.NORMAL
        self._blame = DropBlame()
        self._enabled = enabled
        self._mode = ThrottleMode.LIVE if enabled else ThrottleMode.OFF
        self._mode_since = clock()
        self.mode_changes = 0
        self.time_map = TimeMap()

    # ------------------------------------------------------------------------------ inputs

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        """Live toggle. Held frames stay queued in order; off, the next ``next_frames`` releases them."""
        if value == self._enabled:
            return
        self._enabled = value
        for lane in self._lanes.values():
            self._hold.settle_vad(lane)
            lane.budget.refill(self._clock())
        self._set_mode(self._target_mode() if value else ThrottleMode.OFF, self._clock())

    def push(self, frame: F, is_speech: bool | None = None) -> None:
        """Queue one captured frame. ``is_speech``: a VAD decision made elsewhere (else ours runs)."""
        self._hold.push(frame, self._enabled, is_speech)

    def on_level(self, report: LevelReport) -> None:
        """Every level report; ``unknown`` keeps the last known level (no evidence either way)."""
        if report.level is not Level.UNKNOWN:
            self._level = Level.NORMAL if report.level is Level.IDLE else report.level
        self._update_mode(self._clock())

    def on_metrics(self, ev: MetricsEvent) -> None:
        """Every metrics message: server drops blamed per source and booked in the time map, the
        drain estimate (from frames really sent) and, enabled, an AIMD step."""
        source = ev.source or Source.SYSTEM.value
        queue = queue_bytes(ev)
        fill = ev.fill_ratio
        if (fill is None or not math.isfinite(fill)) and queue is not None:
            fill = queue / (ev.queue_bytes_max or QUEUE_BYTES_MAX)
        lane = self._hold.lane(source)
        sent = {name: self.time_map.sent_frames(name) for name in self._lanes}
        queued = None if queue is None else round(queue / FRAME_BYTES)
        drops = self._blame.on_metrics(source, self._clock(), dropped_total=ev.dropped_total,
                                       dropped_recent=ev.dropped_recent, queued=queued, fill=fill, sent=sent)
        if queue is None or queued is None:
            return  # the drops stay owed until a metrics message says where the queue stands
        self.time_map.record_server_drops(source, drops, queued)
        lane.budget.on_queue(self._clock(), sent[source], queue, fill or 0.0, drops, adapt=self._enabled)

    def new_connection(self) -> None:
        """A new connection: the server's clock, queues and drop counts restart."""
        self.time_map.new_connection()
        self._blame.new_connection()
        for lane in self._lanes.values():
            lane.budget.restart()

    # ------------------------------------------------------------------------------ outputs

    def next_frames(self, now: float | None = None) -> list[F]:
        """The frames that may be sent now: microphone first, each source in capture order."""
        now = self._clock() if now is None else now
        if not self._enabled:
            out = [item.frame for lane in self._hold.ordered for item in lane.held]
            for lane in self._lanes.values():
                lane.sent += len(lane.held)
                lane.held.clear()
            return out
        self._update_mode(now)
        skipping = self._mode in (ThrottleMode.SKIP_SILENCE, ThrottleMode.MIC_FIRST)
        out = []
        for lane in self._hold.ordered:
            lane.budget.refill(now)
            if self._mode is ThrottleMode.MIC_FIRST and lane.source != Source.MIC and self._hold.has_mic():
                continue  # system audio waits (and is shed first) while the microphone has the backend
            while lane.held:
                head = lane.held[0]
                if skipping and head.keep is False:
                    lane.held.popleft()
                    lane.skipped += 1
                elif (skipping and head.keep is None) or not lane.budget.take():
                    break
                else:
                    lane.held.popleft()
                    lane.sent += 1
                    out.append(head.frame)
        return out

    def drain(self) -> list[F]:
        """Everything still held, in order: the tail before ``stop``, minus silence being skipped."""
        skipping = self._enabled and self._mode is not ThrottleMode.LIVE
        out: list[F] = []
        for lane in self._hold.ordered:
            self._hold.settle_vad(lane)
            while lane.held:
                item = lane.held.popleft()
                if skipping and item.keep is False:
                    lane.skipped += 1
                else:
                    lane.sent += 1
                    out.append(item.frame)
        return out

    def backlog_seconds(self, source: str | None = None) -> float:
        """Held audio of ``source``, or of every source when ``None``."""
        return self._hold.backlog_seconds(source)

    def state(self) -> ThrottleState:
        sources = tuple(
            SourceThrottle(
                lane.source,
                len(lane.held) * FRAME_SECONDS,
                lane.shed * FRAME_SECONDS,
                lane.skipped * FRAME_SECONDS,
                lane.sent * FRAME_SECONDS,
                lane.budget.effective,
                lane.budget.drain,
            )
            for lane in self._hold.ordered
        )
        return ThrottleState(self._enabled, self._mode, self._text(), self._mode_since, sources)

    # ------------------------------------------------------------------------------ internals

    def _target_mode(self) -> ThrottleMode:
        if self._level is Level.OVERLOADED and self._hold.has_mic():
            return ThrottleMode.MIC_FIRST
        held = self.config.skip_when_held_seconds
        if self._mode is not ThrottleMode.LIVE:
            held /= 5  # hysteresis: keep skipping until the backlog is nearly gone
        if self._level.severity > 0 or self._hold.waiting_seconds() > held:
            return ThrottleMode.SKIP_SILENCE
        slow = any(lane.budget.effective < 1.0 for lane in self._lanes.values())
        if self._mode is not ThrottleMode.LIVE and slow:
            return ThrottleMode.SKIP_SILENCE  # sending silence below real time only rebuilds a backlog
        return ThrottleMode.LIVE

    def _update_mode(self, now: float) -> None:
        target = self._target_mode()
        dwelt = now - self._mode_since >= self.config.mode_dwell_seconds
        if self._enabled and target is not self._mode and dwelt:
            self._set_mode(target, now)

    def _set_mode(self, mode: ThrottleMode, now: float) -> None:
        self._mode, self._mode_since = mode, now
        self.mode_changes += 1

    def _text(self) -> str:
        if not self._enabled:
            return ""
        parts = ["microphone only"] if self._mode is ThrottleMode.MIC_FIRST else []
        held = self._hold.waiting_seconds()
        busy = [lane.budget.effective for lane in self._lanes.values() if lane.held]
        rate = max(busy, default=1.0)
        if held >= 0.1 and rate > 1.0 and self._level is Level.NORMAL:
            parts.append(f"catching up {rate:.1f}x, {held:.1f} s held")
        elif held >= 0.1:
            parts.append(f"holding {held:.1f} s")
        if self._mode is not ThrottleMode.LIVE:
            parts.append("skipping silence")
        return ", ".join(parts) or "sending live"
