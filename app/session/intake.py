"""The capture side of a session: sources -> audio taps -> each source's hold.

Event-loop thread only. ``route`` runs on every session tick: it reads each source's new frames, hands
them to the audio taps (a local recording), and holds them (``app.core.hold``: tagged by the voice
detector, ``app.session.voice``, while throttling is on) until the sender may send them. ``watch``
reports device faults once and says when every source has finished; ``capture_losses`` reports audio
the devices lost.

One bound, ``PipeConfig.buffer_seconds`` (the setting ``client_backlog_seconds``), per source: beyond it
the hold sheds silence first, then the oldest audio; ``route`` and ``restore`` return what was shed so
the session counts and locates it. Toggling throttling loses or duplicates nothing: the frames stay in
the same hold, only their fate (skipped as silence or not) changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from app.capture.source import AudioSource
from app.core.framing import Frame
from app.core.hold import Held, SourceHold
from app.core.messages import FRAME_SECONDS, Source
from app.core.server_view import ServerView
from app.core.session_state import SourceCounters
from app.core.throttle import SourceThrottle, ThrottlePolicy, ThrottleState
from app.core.vad import SpeechTagger, VadConfig, VoiceDetector
from app.errors import AudioError
from app.session.pipeline import PipeConfig, SourcePipe
from app.session.voice import make_detector

log = logging.getLogger(__name__)
Shed = list[tuple[Source, list[Frame]]]  # per source, frames shed in capture order


class Intake:
    def __init__(self, sources: Sequence[AudioSource], config: PipeConfig, *, throttle: bool,
                 vad: VadConfig | None = None, detector: Callable[[], VoiceDetector] | None = None) -> None:
        vad_config = vad or VadConfig()
        new_detector = detector or make_detector(vad_config)  # the WebRTC VAD (app.session.voice)
        capacity = max(1, round(config.buffer_seconds / FRAME_SECONDS))

        def tagger() -> SpeechTagger[Held[Frame]]:
            return SpeechTagger(new_detector(), vad_config)

        self.pipes = [SourcePipe(audio, SourceHold(audio.source.value, capacity, tagger))
                      for audio in sources]
        self.pipes.sort(key=lambda pipe: pipe.source is not Source.MIC)  # the microphone first
        self._by_source = {pipe.source: pipe for pipe in self.pipes}
        self.throttle = throttle
        # Called with every captured frame, in capture order per source, on the loop thread (a local
        # recording of the meeting); a tap must be quick and must not raise.
        self.taps: list[Callable[[list[Frame]], None]] = []
        self._capture_lost = {pipe.source: 0.0 for pipe in self.pipes}  # device/hand-off losses booked

    async def start(self, warn: Callable[[str], None]) -> None:
        """Start every source; one that cannot start is a warning, all of them an ``AudioError``."""
        failures: list[str] = []
        for pipe in self.pipes:
            try:
                await pipe.audio.start()
            except AudioError as exc:
                failures.append(str(exc))
                pipe.done = True
                warn(f"{pipe.source.label}: {exc}")
        if len(failures) == len(self.pipes):
            raise AudioError(failures[0] if len(failures) == 1 else " / ".join(failures))

    async def stop(self) -> None:
        """Stop capturing; the tails arrive with the next ``route``. Idempotent."""
        for pipe in self.pipes:
            await pipe.audio.stop()

    def route(self, now: float) -> Shed:
        """Captured frames -> the audio taps and the holds; returns what the holds shed."""
        shed: Shed = []
        for pipe in self.pipes:
            frames = pipe.read(now)
            if not frames:
                continue
            for tap in self.taps:
                tap(frames)
            gone = pipe.hold.push_many(frames, self.throttle)
            if gone:
                pipe.note_shed(len(gone), self.throttle)
                shed.append((pipe.source, gone))
        return shed

    def restore(self, source: Source, frames: Sequence[Frame]) -> list[Frame]:
        """Frames a dead connection may not have delivered go back in front of ``source``'s hold;
        returns those that did not fit (lost)."""
        pipe = self._by_source.get(source)
        if pipe is None or not frames:
            return []
        pipe.sent -= len(frames)  # they will be sent (and counted) again
        gone = pipe.hold.restore(frames)
        pipe.note_shed(len(gone), self.throttle)
        return gone

    def set_throttle(self, enabled: bool) -> None:
        """Live toggle: off, the frames still waiting for a VAD decision are decided (and all are sent)."""
        self.throttle = enabled
        if not enabled:
            for pipe in self.pipes:
                pipe.hold.settle()

    def settle(self) -> None:
        """At stop: no more audio comes, so the last VAD decisions are final."""
        for pipe in self.pipes:
            pipe.hold.settle()

    def watch(self, warn: Callable[[str], None]) -> bool:
        """Report new device faults; True once every source has finished."""
        for pipe in self.pipes:
            fault = pipe.audio.fault
            if fault is not None and not pipe.fault_reported:
                pipe.fault_reported = True
                warn(f"{pipe.source.label}: {fault}")
        return all(p.done for p in self.pipes)

    def capture_losses(self) -> list[tuple[Source, float, float]]:
        """Audio the devices or the hand-off lost since the last call: (source, seconds, newest capture
        time known) per source that lost some."""
        out = []
        for pipe in self.pipes:
            lost = pipe.audio.counters().dropped_seconds
            new = lost - self._capture_lost[pipe.source]
            if new >= FRAME_SECONDS:
                self._capture_lost[pipe.source] = lost
                out.append((pipe.source, new, pipe.newest_capture))
        return out

    def held(self) -> bool:
        return any(len(pipe.hold) for pipe in self.pipes)

    def drained(self) -> bool:
        """Every source finished and every hold empty: nothing left to send."""
        return all(pipe.done and not len(pipe.hold) for pipe in self.pipes)

    def waiting_seconds(self) -> dict[str, float]:
        return {pipe.source.value: pipe.hold.waiting * FRAME_SECONDS for pipe in self.pipes}

    def input_dbfs(self) -> dict[str, float]:
        return {pipe.source.value: pipe.input_dbfs for pipe in self.pipes}

    def hold_share(self) -> dict[str, float]:
        return {pipe.source.value: len(pipe.hold) / pipe.hold.capacity_frames for pipe in self.pipes}

    def abandon(self) -> dict[Source, list[Frame]]:
        """Give up on everything not sent (the flush at stop ran out of time): the stopped sources' last
        frames and the holds. Counted as unsent; returns them per source (the session locates them)."""
        gone: dict[Source, list[Frame]] = {}
        for pipe in self.pipes:
            frames = pipe.read(float("inf")) + pipe.hold.take_all()
            pipe.unsent += len(frames)
            gone[pipe.source] = frames
        return gone

    def discard_rest(self) -> dict[Source, list[Frame]]:
        """At the end: what stopped sources still had (captured, never sent), counted as unsent."""
        rest: dict[Source, list[Frame]] = {}
        for pipe in self.pipes:
            try:
                frames = pipe.read(float("inf")) + pipe.hold.take_all()
            except Exception:  # a broken source at shutdown must not hide the session's outcome
                log.exception("reading what %s still had failed", pipe.source.label)
                continue
            pipe.unsent += len(frames)
            rest[pipe.source] = frames
        return rest

    def counters(self) -> dict[Source, SourceCounters]:
        return {pipe.source: pipe.counters() for pipe in self.pipes}

    def throttle_state(self, policy: ThrottlePolicy, view: ServerView[Frame] | None) -> ThrottleState:
        """What throttling does now, per source (held, shed, skipped; the backend's drain rate)."""
        return ThrottleState(policy.enabled, policy.mode, policy.text(), policy.since, tuple(
            SourceThrottle(pipe.source.value, pipe.hold.seconds, pipe.shed * FRAME_SECONDS,
                           pipe.hold.skipped * FRAME_SECONDS,
                           None if view is None else view.drain_rate(pipe.source.value))
            for pipe in self.pipes))


def unsent_note(frames: dict[Source, list[Frame]]) -> str:
    """What the user is told when the flush at stop gave up on ``frames`` (per source)."""
    parts = ", ".join(f"{src.label} {len(n) * FRAME_SECONDS:.1f} s" for src, n in frames.items() if n)
    total = sum(len(n) for n in frames.values()) * FRAME_SECONDS
    return f"Stopped before all held audio was sent: {total:.1f} s not sent ({parts})."
