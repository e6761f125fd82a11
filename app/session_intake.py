"""The capture side of a session: sources -> adaptive throttling -> per-source client buffers.

Event-loop thread only. ``route`` runs on every session tick: it reads each source's new frames,
passes them through the ``ThrottlePolicy`` (a pass-through while throttling is off, so the live
toggle needs no re-wiring) and pushes what the policy releases into the sources' bounded buffers;
while flushing at stop, the policy gives up everything it holds. ``watch`` reports device faults once
and says when every source has finished.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from app.capture_base import AudioSource
from app.core.framing import Frame
from app.core.messages import FRAME_SECONDS, Source
from app.core.session_state import SourceCounters
from app.core.throttle import ThrottleConfig, ThrottlePolicy
from app.errors import AudioError
from app.session_pipeline import PipeConfig, SourcePipe


class Intake:
    def __init__(self, sources: Sequence[AudioSource], config: PipeConfig, clock: Callable[[], float],
                 throttle: bool) -> None:
        self.pipes = [SourcePipe(audio, config) for audio in sources]
        self._by_source = {pipe.source.value: pipe for pipe in self.pipes}
        self.policy: ThrottlePolicy[Frame] = ThrottlePolicy(
            ThrottleConfig(backlog_seconds=config.buffer_seconds * len(self.pipes)), clock, enabled=throttle)

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

    def route(self, now: float, flushing: bool) -> None:
        """Captured frames -> throttle policy -> per-source client buffers (all of it when flushing)."""
        for pipe in self.pipes:
            for frame in pipe.read(now):
                self.policy.push(frame)
        released = self.policy.drain() if flushing else self.policy.next_frames(now)
        for frame in released:
            self._by_source[frame.source.value].buffer.push(frame)

    def watch(self, warn: Callable[[str], None]) -> bool:
        """Report new device faults; True once every source has finished."""
        for pipe in self.pipes:
            fault = pipe.audio.fault
            if fault is not None and not pipe.fault_reported:
                pipe.fault_reported = True
                warn(f"{pipe.source.label}: {fault}")
        return all(p.done for p in self.pipes)

    def held(self) -> bool:
        """Whether throttling still holds frames upstream of the buffers."""
        return self.policy.backlog_seconds() > 0

    def counters(self) -> dict[Source, SourceCounters]:
        lanes = {s.source: s for s in self.policy.state().sources}
        out = {}
        for pipe in self.pipes:
            lane = lanes.get(pipe.source.value)
            if lane is None:
                out[pipe.source] = pipe.counters()
            else:
                out[pipe.source] = pipe.counters(_frames(lane.held_seconds), _frames(lane.shed_seconds),
                                                 _frames(lane.skipped_seconds))
        return out

    def discard_rest(self) -> None:
        """At the end: count what stopped sources still held (captured, never sent)."""
        for pipe in self.pipes:
            with contextlib.suppress(Exception):
                pipe.read(float("inf"))


def _frames(seconds: float) -> int:
    return round(seconds / FRAME_SECONDS)
