"""The capture side of a session: sources -> adaptive throttling -> per-source client buffers.

Event-loop thread only. ``route`` runs on every session tick: it reads each source's new frames,
passes them through the ``ThrottlePolicy`` (a pass-through while throttling is off, so the live
toggle needs no re-wiring) and pushes what the policy releases into the sources' bounded buffers;
while flushing at stop, the policy gives up everything it holds. ``watch`` reports device faults once
and says when every source has finished.

One backlog bound, ``PipeConfig.buffer_seconds`` (the setting ``client_backlog_seconds``), per source:
a source's unsent audio, wherever it waits (throttling's hold + its send buffer), never exceeds it.
Throttling's hold is one pool of that size, less ``HOLD_HEADROOM_SECONDS``, shared by all sources
(the policy sheds silence, then system, then microphone audio when it is full); each ``route`` then
drops the source's OLDEST buffered frames (counted as ``dropped``) if hold + buffer would exceed the
bound. Because that holds at every tick, releasing everything the policy holds into the send buffer
(throttling switched off, or the flush at stop) always fits, with room for the audio that arrives
before the sender, now at the catch-up rate, has drained the first of it: nothing is dropped by
the switch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.capture.source import AudioSource
from app.core.framing import Frame
from app.core.messages import FRAME_SECONDS, Source
from app.core.send_rate import RateConfig
from app.core.session_state import SourceCounters
from app.core.throttle import ThrottleConfig, ThrottlePolicy, ThrottleState
from app.errors import AudioError
from app.session.pipeline import PipeConfig, SourcePipe

MIN_FLUSH_RATE = 0.25  # x real time: a drain estimate below this is not trusted to size the flush
FLUSH_GRACE_SECONDS = 2.0  # for the tails still in the devices and a slow first write
HOLD_HEADROOM_SECONDS = 0.5  # the bound less throttling's hold: new audio while a release drains


class Intake:
    def __init__(self, sources: Sequence[AudioSource], config: PipeConfig, clock: Callable[[], float],
                 throttle: bool, *, tick_seconds: float) -> None:
        """``tick_seconds``: how often ``route`` runs (the throttle's send budget is sized for it)."""
        self.pipes = [SourcePipe(audio, config) for audio in sources]
        self._by_source = {pipe.source.value: pipe for pipe in self.pipes}
        hold = max(config.buffer_seconds / 2, config.buffer_seconds - HOLD_HEADROOM_SECONDS)
        rate = RateConfig.for_tick(tick_seconds)
        self.policy: ThrottlePolicy[Frame] = ThrottlePolicy(
            ThrottleConfig(backlog_seconds=hold, rate=rate), clock, enabled=throttle)
        # Called with every captured frame, in capture order per source, on the loop thread (a local
        # recording of the meeting); a tap must be quick and must not raise.
        self.taps: list[Callable[[list[Frame]], None]] = []
        self._trimmed = {pipe.source: 0 for pipe in self.pipes}  # dropped by the per-source bound
        self._unsent = {pipe.source: 0 for pipe in self.pipes}  # given up at the end, never sent

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
        """Captured frames -> the audio taps, throttle policy -> per-source client buffers (all of it when
        flushing)."""
        for pipe in self.pipes:
            frames = pipe.read(now)
            if frames:
                for tap in self.taps:
                    tap(frames)
            for frame in frames:
                self.policy.push(frame)
        self._bound()
        self._release(self.policy.drain() if flushing else self.policy.next_frames(now))

    def set_throttle(self, enabled: bool) -> None:
        """Live toggle. Off: what the policy holds moves to the send buffers at once (it fits, see the
        module docstring) and is sent at the catch-up rate; nothing is dropped by the switch."""
        self.policy.enabled = enabled
        if not enabled:
            self._release(self.policy.next_frames())

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

    def unsent_seconds(self) -> dict[Source, float]:
        """Per source, the audio not sent yet: throttling's hold plus the send buffer."""
        return {pipe.source: self.policy.backlog_seconds(pipe.source.value) + len(pipe.buffer) * FRAME_SECONDS
                for pipe in self.pipes}

    def flush_seconds(self, catchup_rate: float) -> float:
        """How long the flush at stop may take to send what is unsent, as a generous bound: each
        source's backlog at the backend's observed drain rate for it (the throttle's estimate,
        at least ``MIN_FLUSH_RATE``), or at the catch-up rate while none is known, plus
        ``FLUSH_GRACE_SECONDS``. The sources are sent side by side: the slowest one decides."""
        drains = {s.source: s.drain_estimate for s in self.policy.state().sources}
        needed = 0.0
        for source, seconds in self.unsent_seconds().items():
            drain = drains.get(source.value)
            rate = catchup_rate if drain is None else max(MIN_FLUSH_RATE, min(catchup_rate, drain))
            needed = max(needed, seconds / rate)
        return needed + FLUSH_GRACE_SECONDS

    def abandon(self) -> dict[Source, int]:
        """Give up on everything not sent yet (the flush at stop ran out of time): the stopped sources'
        last frames, throttling's hold and the send buffers. Counted per source as unsent (in
        ``buffered_frames`` at the end); returns the frames given up now."""
        gone = {pipe.source: len(pipe.read(float("inf"))) for pipe in self.pipes}
        for frame in self.policy.drain():
            gone[frame.source] += 1
        for pipe in self.pipes:
            while pipe.buffer:
                pipe.buffer.pop()
                gone[pipe.source] += 1
        for source, frames in gone.items():
            self._unsent[source] += frames
        return gone

    def counters(self, state: ThrottleState | None = None) -> dict[Source, SourceCounters]:
        """``state``: the policy's current state if the caller has it already."""
        lanes = {s.source: s for s in (state or self.policy.state()).sources}
        out = {}
        for pipe in self.pipes:
            lane = lanes.get(pipe.source.value)
            held, shed, skipped = (0, 0, 0) if lane is None else (
                _frames(lane.held_seconds), _frames(lane.shed_seconds), _frames(lane.skipped_seconds))
            out[pipe.source] = SourceCounters(
                captured_frames=pipe.captured,
                sent_frames=pipe.sent,
                dropped_frames=pipe.dropped + self._trimmed[pipe.source],
                buffered_frames=len(pipe.buffer) + held + self._unsent[pipe.source],
                send_lag_seconds=pipe.send_lag,
                mean_send_lag_seconds=pipe.mean_send_lag,
                max_send_lag_seconds=pipe.lag_max,
                skipped_frames=skipped,
                shed_frames=shed,
            )
        return out

    def discard_rest(self) -> None:
        """At the end: count what stopped sources still held (captured, never sent)."""
        for pipe in self.pipes:
            try:
                self._unsent[pipe.source] += len(pipe.read(float("inf")))
            except Exception:  # a broken source at shutdown must not hide the session's outcome
                continue

    def _bound(self) -> None:
        """Per source, hold + send buffer <= the bound: drop the oldest buffered frames (they are
        older than anything throttling holds)."""
        for pipe in self.pipes:
            held = round(self.policy.backlog_seconds(pipe.source.value) / FRAME_SECONDS)
            excess = min(held + len(pipe.buffer) - pipe.buffer.capacity_frames, len(pipe.buffer))
            if excess > 0:
                for _ in range(excess):
                    pipe.buffer.pop()
                self._trimmed[pipe.source] += excess

    def _release(self, frames: list[Frame]) -> None:
        for frame in frames:
            self._by_source[frame.source.value].buffer.push(frame)


def unsent_note(frames: dict[Source, int]) -> str:
    """What the user is told when the flush at stop gave up on ``frames`` (per source)."""
    parts = ", ".join(f"{src.label} {n * FRAME_SECONDS:.1f} s" for src, n in frames.items() if n)
    total = sum(frames.values()) * FRAME_SECONDS
    return f"Stopped before all held audio was sent: {total:.1f} s not sent ({parts})."


def _frames(seconds: float) -> int:
    return round(seconds / FRAME_SECONDS)
