"""Per-source plumbing of a session: ``AudioSource`` -> (throttle) -> bounded client buffer -> paced sends.

Event-loop thread only. ``SourcePipe.read`` is called on the session's tick (``app.session.ticker``,
every 80 ms by default); the session passes the frames through the throttle policy into the source's
``SourceBuffer`` (30 s by default, drop-oldest, counted), so audio captured before the ``streaming``
ack or during a reconnect gap waits there. ``send_frames`` drains every pipe over one connection by
absolute deadlines (``SendPacer``): at 1x when live, at the catch-up rate while a backlog remains or
the tail is being flushed. It never cancels a send; it returns when the connection ends (a send
raises) or, while flushing, when every pipe is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.capture.source import AudioSource
from app.core.framing import Frame
from app.core.pacing import SendPacer, SourceBuffer
from app.errors import ConnectionFailedError
from app.transport.connection import LiveConnection

Clock = Callable[[], float]
LOOKAHEAD_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class PipeConfig:
    buffer_seconds: float = 30.0
    catchup_rate: float = 2.0
    catchup_after_seconds: float = 0.1


class SourcePipe:
    """One source's capture counters, client buffer and pacer."""

    def __init__(self, audio: AudioSource, config: PipeConfig) -> None:
        self.audio = audio
        self.source = audio.source
        self.buffer: SourceBuffer[Frame] = SourceBuffer(config.buffer_seconds)
        self.pacer = SendPacer(catchup_rate=config.catchup_rate,
                               catchup_after_seconds=config.catchup_after_seconds)
        self.captured = 0
        self.sent = 0
        self.send_lag = 0.0  # of the last frame sent: send time - capture time of its first sample
        self.lag_total = 0.0
        self.lag_max = 0.0
        self.done = False  # the source is finished and its last frame has been read
        self.fault_reported = False
        self._newest: float | None = None  # capture time of the newest frame read

    def read(self, now: float) -> list[Frame]:
        """Newly captured frames (the session routes them through throttling into ``buffer``).

        A source whose frames are stamped ahead of ``now`` (a replay read as fast as consumed) is not
        read again until its newest frame is less than ``LOOKAHEAD_SECONDS`` ahead, so it cannot fill
        the buffer with future audio and have it dropped.
        """
        if self.done:
            return []
        if self._newest is not None and self._newest > now + LOOKAHEAD_SECONDS:
            return []
        frames = self.audio.read_frames()
        if self.audio.finished:  # read once more: the tail may have landed after the first read
            frames = frames + self.audio.read_frames()
            self.done = True
        if frames:
            self._newest = frames[-1].capture_time
        self.captured += len(frames)
        return frames

    @property
    def dropped(self) -> int:
        return self.buffer.counters.dropped

    @property
    def drained(self) -> bool:
        return self.done and not self.buffer

    def note_sent(self, lag: float) -> None:
        """One frame sent ``lag`` seconds after its capture time."""
        self.sent += 1
        self.send_lag = lag
        self.lag_total += lag
        if lag > self.lag_max:
            self.lag_max = lag

    @property
    def mean_send_lag(self) -> float:
        return self.lag_total / self.sent if self.sent else 0.0


OnSent = Callable[[list[tuple[SourcePipe, Frame]], float], None]  # one call per tick's frames sent


class Sender:
    """Sends buffered frames over one connection from its own task (``send_frames``): ``on_tick()``
    every tick, ``wake()`` when the mode changes (stop requested)."""

    def __init__(self, pipes: Sequence[SourcePipe], clock: Clock, on_sent: OnSent,
                 held_elsewhere: Callable[[], bool] = lambda: False, window: float = 0.02) -> None:
        """``held_elsewhere``: whether frames still wait upstream (throttling) of the buffers.

        ``window``: the session's tick. The sender runs no timers of its own: each tick wakes its
        task, which sends each frame whose deadline falls before the next tick, i.e. at most one tick
        early; deadlines stay absolute, so this never becomes a rate error. Each frame is awaited
        (``LiveConnection.send_audio``): while the socket takes them that costs no task switch, one
        task step per tick in all; when the socket pushes back, the task waits for the drain
        (backpressure) and sends nothing else meanwhile. It notices the connection's end and, while
        flushing, says when the flush is done.
        """
        self._window = window
        self._pipes = pipes
        self._clock = clock
        self._on_sent = on_sent
        self._held_elsewhere = held_elsewhere
        self._wake = asyncio.Event()
        self.flushing = False  # stop requested: send the tails at the catch-up rate, then return

    def wake(self) -> None:
        self._wake.set()

    def on_tick(self) -> None:
        """Every tick: the task sends what is due (if it is waiting for a drain, it sees it after)."""
        self._wake.set()

    async def send_frames(self, conn: LiveConnection) -> bool:
        """Send until the connection ends (returns False) or, when flushing, every pipe is drained (True)."""
        conn.ended.add_done_callback(lambda _: self._wake.set())
        for pipe in self._pipes:
            pipe.pacer.reset()
        while conn.is_open:
            batch = self._take_due()
            if not batch:
                if self.flushing and all(p.drained for p in self._pipes) and not self._held_elsewhere():
                    return True
                self._wake.clear()
                await self._wake.wait()  # the next tick, the flush, or the end
                continue
            for i, (_, frame) in enumerate(batch):
                try:
                    await conn.send_audio(frame)
                except ConnectionFailedError:
                    for pipe, unsent in reversed(batch[i:]):
                        pipe.buffer.push_front(unsent)  # not sent: keep them for the next connection
                    if i:
                        self._sent(batch[:i])
                    return False
            self._sent(batch)
        return False

    def _sent(self, batch: list[tuple[SourcePipe, Frame]]) -> None:
        self._on_sent(batch, self._clock())

    def _take_due(self) -> list[tuple[SourcePipe, Frame]]:
        """Pop every frame due before the next tick, for all sources, each source's frames in order
        (the order between sources means nothing: the server queues each source separately).
        Bounded by the pacers: a tick's worth of audio per source at the catch-up rate, plus the few
        late frames a pacer makes up back to back."""
        now = self._clock()
        horizon = now + self._window
        batch: list[tuple[SourcePipe, Frame]] = []
        for pipe in self._pipes:
            buffer, pacer = pipe.buffer, pipe.pacer
            while (head := buffer.peek()) is not None:
                # never before its capture time: a source that runs ahead of the clock (a replay read
                # as fast as consumed has virtual capture times) is thereby sent at exactly real time
                if max(pacer.due(now, len(buffer), hurry=self.flushing), head.capture_time) > horizon:
                    break
                batch.append((pipe, buffer.pop()))
                pacer.sent()
        return batch
