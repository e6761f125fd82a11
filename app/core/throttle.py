"""Adaptive throttling: what the client sends when the backend cannot keep up (CONTRACT.md 5, 6, 10).

Pure, injected clock; one ``ThrottlePolicy`` per session, on the event-loop thread. It decides a MODE;
how many frames go when is flow control's (``app.core.flow``: the server queue's credit, the one owner
of the send rate), and the frames wait in the sources' holds (``app.core.hold``).

Throttling off (``OFF``): live audio goes at real time whatever the server says (it drops what it cannot
take, as with the macOS client); only a backlog waits for credit. Throttling on, every frame obeys the
credit, so the server never has to drop: the audio waits on the client instead, and as the hold grows:

1. ``LIVE``: everything is sent, a backlog drains as fast as the server takes it.
2. ``SKIP_SILENCE``: more than ``skip_when_held_seconds`` waits (or the server's queues report
   buffering): frames the voice detector calls silence, outside 200 ms of lookahead and 300 ms of
   hangover around speech, are not sent (counted). Back to ``LIVE`` once less than a fifth of that
   waits and the queues are calm.
3. ``MIC_FIRST``: the two sources share one recognizer (``app.core.shared_recognizer``: each source's
   chunks were seen waiting for the other's) and the microphone AND the system audio are both more than
   ``mic_first_held_seconds`` behind: system audio waits while the microphone catches up, so the
   recognizer spends itself on the local speaker first. With a recognizer each, holding one source
   back would only idle its recognizer, so it never happens. Never at the price of system audio
   either: it ends when the system hold passes ``system_hold_share`` of its bound, and at once when
   the recognizer turns out not to be shared (the guess is refuted while system audio waits).

A new mode must be called for continuously for ``mode_dwell_seconds`` before it is taken, except that
skipping starts at once: a backlog hovering at a threshold cannot make the mode flap.
The hold's bound sheds silence first, then the oldest audio (counted and located by the session).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from app.core.level import Level
from app.core.messages import Source
from app.core.vad import VadConfig


class ThrottleMode(enum.StrEnum):
    OFF = "off"  # disabled: live audio at real time
    LIVE = "live"  # enabled, keeping up: everything sent, a backlog drains at the server's pace
    SKIP_SILENCE = "skip_silence"
    MIC_FIRST = "mic_first"  # silence skipped and system audio held while the microphone catches up


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    mode_dwell_seconds: float = 3.0
    skip_when_held_seconds: float = 1.0
    mic_first_held_seconds: float = 2.0
    system_hold_share: float = 0.8
    vad: VadConfig = field(default_factory=VadConfig)

    def __post_init__(self) -> None:
        held = (self.skip_when_held_seconds, self.mic_first_held_seconds)
        if self.mode_dwell_seconds < 0 or min(held) <= 0:
            raise ValueError("dwell must be >= 0, held thresholds > 0")
        if not 0 < self.system_hold_share <= 1:
            raise ValueError("system_hold_share must be in (0, 1]")


@dataclass(frozen=True, slots=True)
class SourceThrottle:
    source: str
    held_seconds: float  # waiting on the client now
    shed_seconds: float  # shed by the client because its hold was full (not server drops)
    skipped_seconds: float  # silence not sent
    drain_estimate: float | None  # how fast the backend consumes this source, x real time


@dataclass(frozen=True, slots=True)
class ThrottleState:
    enabled: bool
    mode: ThrottleMode
    text: str  # e.g. "microphone first, holding 4.2 s, skipping silence"; "" when off
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


class ThrottlePolicy:
    """See the module docstring. ``update`` every tick (or so); ``skip_silence`` and ``holds_back``
    tell the sender what to do with each source's hold."""

    def __init__(self, config: ThrottleConfig | None = None, clock: Callable[[], float] = time.monotonic,
                 *, enabled: bool = False) -> None:
        self.config = config or ThrottleConfig()
        self._clock = clock
        self._enabled = enabled
        self._mode = ThrottleMode.LIVE if enabled else ThrottleMode.OFF
        self._since = clock()
        self._waiting: Mapping[str, float] = {}
        self._wanted: tuple[ThrottleMode, float] | None = None  # a different mode called for since
        self.mode_changes = 0

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if value != self._enabled:
            self._enabled = value
            self._set(ThrottleMode.LIVE if value else ThrottleMode.OFF, self._clock())

    @property
    def mode(self) -> ThrottleMode:
        return self._mode

    @property
    def since(self) -> float:
        return self._since

    @property
    def skip_silence(self) -> bool:
        return self._mode in (ThrottleMode.SKIP_SILENCE, ThrottleMode.MIC_FIRST)

    def update(self, now: float, waiting: Mapping[str, float], hold_share: Mapping[str, float],
               level: Level, *, shared: bool = False) -> None:
        """``waiting``: seconds each source has waiting (not counting VAD lookahead); ``hold_share``:
        how full each source's hold is (0-1); ``level``: the server queues' level; ``shared``: the
        sources share one recognizer."""
        self._waiting = waiting
        if not self._enabled:
            return
        target = self._target(waiting, hold_share, level, shared)
        if target is self._mode:
            self._wanted = None
            return
        if self._wanted is None or self._wanted[0] is not target:
            self._wanted = (target, now)
        starting_to_skip = self._mode is ThrottleMode.LIVE
        at_once = starting_to_skip or (self._mode is ThrottleMode.MIC_FIRST and not shared)
        if at_once or now - self._wanted[1] >= self.config.mode_dwell_seconds:
            self._set(target, now)

    def holds_back(self, source: str) -> bool:
        """Whether ``source`` sends nothing this tick (system audio in ``MIC_FIRST``)."""
        return self._mode is ThrottleMode.MIC_FIRST and source != Source.MIC

    def text(self) -> str:
        if not self._enabled:
            return ""
        held = sum(self._waiting.values())
        parts = ["microphone first"] if self._mode is ThrottleMode.MIC_FIRST else []
        parts.append(f"holding {held:.1f} s" if held >= 0.1 else "sending live")
        if self.skip_silence:
            parts.append("skipping silence")
        return ", ".join(parts)

    def _target(self, waiting: Mapping[str, float], hold_share: Mapping[str, float],
                level: Level, shared: bool) -> ThrottleMode:
        cfg = self.config
        mic, system = waiting.get(Source.MIC, 0.0), waiting.get(Source.SYSTEM, 0.0)
        system_room = shared and hold_share.get(Source.SYSTEM, 0.0) < cfg.system_hold_share
        if Source.MIC in waiting and min(mic, system) > cfg.mic_first_held_seconds and system_room:
            return ThrottleMode.MIC_FIRST
        if self._mode is ThrottleMode.MIC_FIRST and mic > cfg.mic_first_held_seconds / 4 and system_room:
            return ThrottleMode.MIC_FIRST  # hysteresis: until the microphone has nearly caught up
        held = max(waiting.values(), default=0.0)
        threshold = cfg.skip_when_held_seconds / (5 if self._mode is not ThrottleMode.LIVE else 1)
        if held > threshold or level.severity > 0:
            return ThrottleMode.SKIP_SILENCE
        return ThrottleMode.LIVE

    def _set(self, mode: ThrottleMode, now: float) -> None:
        self._mode, self._since, self._wanted = mode, now, None
        self.mode_changes += 1
