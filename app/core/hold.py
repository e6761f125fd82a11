"""Adaptive throttling's hold: the frames the policy keeps on the client, per source, with their VAD
decisions, and the one bounded pool they share (``app.core.throttle`` decides what leaves it when).

Pure, event-loop thread. Each source is a ``Lane``: held frames in capture order (each marked speech,
silence, or still waiting for its VAD lookahead), its send budget (``app.core.send_rate``) and its
counters. Drop policy when the pool is over ``capacity`` frames: shed silence first, then the oldest
system audio, then the oldest microphone audio; every shed frame counted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from app.core.messages import FRAME_SECONDS, Source
from app.core.send_rate import RateConfig, SendRate
from app.core.timemap import SentFrame
from app.core.vad import SpeechTagger, VadConfig, VoiceDetector


class FrameLike(SentFrame, Protocol):
    """What the policy needs of a frame: what the time map records, and the audio (for the VAD);
    ``app.core.framing.Frame`` satisfies it."""

    @property
    def pcm(self) -> bytes: ...


F = TypeVar("F", bound=FrameLike)


@dataclass(slots=True)
class Held(Generic[F]):
    frame: F
    keep: bool | None = True  # None: the VAD decision waits for its lookahead; False: silence


@dataclass(slots=True)
class Lane(Generic[F]):
    """One source: its held frames, VAD state, send budget and counters."""

    source: str
    budget: SendRate
    held: deque[Held[F]] = field(default_factory=deque)
    tagger: SpeechTagger[Held[F]] | None = None  # created when first needed (enabled)
    maybe_silent: int = 0  # upper bound of held frames decided silent (0: no need to scan)
    sent: int = 0  # released by the policy (the session's client buffer may still hold them)
    skipped: int = 0
    shed: int = 0


class Hold(Generic[F]):
    """Every source's lane and the shared bound (see the module docstring)."""

    def __init__(self, capacity_frames: int, rate: RateConfig, vad: VadConfig,
                 detector_factory: Callable[[], VoiceDetector]) -> None:
        self._capacity = capacity_frames
        self._rate = rate
        self._vad = vad
        self._detector_factory = detector_factory
        self.lanes: dict[str, Lane[F]] = {}
        self.ordered: list[Lane[F]] = []  # the lanes, microphone first (kept sorted as lanes are created)

    def lane(self, source: str) -> Lane[F]:
        lane = self.lanes.get(source)
        if lane is None:
            lane = self.lanes[source] = Lane(source, SendRate(self._rate))
            self.ordered = sorted(self.lanes.values(), key=lambda lane: lane.source != Source.MIC)
        return lane

    def has_mic(self) -> bool:
        return Source.MIC.value in self.lanes

    def push(self, frame: F, tag: bool, is_speech: bool | None = None) -> None:
        """Hold one frame; ``tag``: run it through its source's VAD (throttling enabled), else it is
        kept as it is. ``is_speech``: a VAD decision made elsewhere. Then keep the pool within bounds."""
        lane = self.lanes.get(frame.source) or self.lane(str(frame.source))
        item: Held[F] = Held(frame)
        if tag:
            if lane.tagger is None:
                lane.tagger = SpeechTagger(self._detector_factory(), self._vad)
            item.keep = None
            decided = lane.tagger.push(item, frame.pcm, is_speech)
            if decided is not None:
                self._decide(lane, *decided)
        lane.held.append(item)
        self._bound()

    def settle_vad(self, lane: Lane[F]) -> None:
        """Finish the pending VAD decisions (at a toggle or the tail)."""
        for item, keep in lane.tagger.flush() if lane.tagger is not None else []:
            self._decide(lane, item, keep)

    def backlog_seconds(self, source: str | None = None) -> float:
        """Held audio of ``source``, or of every source when ``None``."""
        if source is None:
            return sum(len(lane.held) for lane in self.lanes.values()) * FRAME_SECONDS
        lane = self.lanes.get(source)
        return 0.0 if lane is None else len(lane.held) * FRAME_SECONDS

    def waiting_seconds(self) -> float:
        """Held audio that is a backlog: frames whose VAD decision still waits for its lookahead are
        not (each source holds up to 0.2 s of them while silence is skipped)."""
        lanes = self.lanes.values()
        frames = sum(max(0, len(lane.held) - (lane.tagger.pending if lane.tagger else 0)) for lane in lanes)
        return frames * FRAME_SECONDS

    def _decide(self, lane: Lane[F], item: Held[F], keep: bool) -> None:
        item.keep = keep
        lane.maybe_silent += not keep

    def _bound(self) -> None:
        """Keep the backlog within capacity: shed silence, then oldest system, then oldest mic audio."""
        excess = sum(len(lane.held) for lane in self.lanes.values()) - self._capacity
        if excess <= 0:
            return
        order = sorted(self.lanes.values(), key=lambda lane: lane.source == Source.MIC)
        extra = 10  # shed a little more silence per pass so the O(n) scan stays rare
        for lane in order:
            if excess > 0 and lane.maybe_silent > 0:
                excess -= self._shed_silence(lane, excess + extra)
        for lane in order:
            while excess > 0 and lane.held:
                lane.held.popleft()
                lane.shed += 1
                excess -= 1

    @staticmethod
    def _shed_silence(lane: Lane[F], limit: int) -> int:
        kept: deque[Held[F]] = deque()
        gone = silent = 0
        for item in lane.held:
            if item.keep is False:
                if gone < limit:
                    gone += 1
                    continue
                silent += 1
            kept.append(item)
        lane.held, lane.maybe_silent, lane.shed = kept, silent, lane.shed + gone
        return gone
