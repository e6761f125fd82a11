"""Per-source plumbing of a session: ``AudioSource`` -> (throttle) -> bounded client buffer -> paced sends.

Event-loop thread only. ``SourcePipe.read`` is called on the session's tick (about every 20 ms); the
session passes the frames through the throttle policy into the source's ``SourceBuffer`` (30 s by
default, drop-oldest, counted), so
audio captured before the ``streaming`` ack or during a reconnect gap waits there. ``send_frames``
drains every pipe over one connection by absolute deadlines (``SendPacer``): at 1x when live, at the
catch-up rate while a backlog remains or the tail is being flushed. It never cancels a send; it
returns when the connection ends (the send raises) or, while flushing, when every pipe is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.capture_base import AudioSource
from app.core.framing import Frame
from app.core.pacing import SendPacer, SourceBuffer
from app.core.session_state import SourceCounters
from app.errors import ConnectionFailedError
from app.transport import LiveConnection

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
        self.send_lag = 0.0
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

    def counters(self, held: int = 0, shed: int = 0, skipped: int = 0) -> SourceCounters:
        """``held``/``shed``/``skipped``: frames adaptive throttling holds, shed and skipped."""
        return SourceCounters(
            captured_frames=self.captured,
            sent_frames=self.sent,
            dropped_frames=self.dropped + shed,
            buffered_frames=len(self.buffer) + held,
            send_lag_seconds=self.send_lag,
            skipped_frames=skipped,
        )


OnSent = Callable[[SourcePipe, Frame, float], None]


class Sender:
    """Sends buffered frames over one connection. ``wake()`` after frames arrive or the mode changes."""

    def __init__(self, pipes: Sequence[SourcePipe], clock: Clock, on_sent: OnSent,
                 held_elsewhere: Callable[[], bool] = lambda: False, window: float = 0.02) -> None:
        """``held_elsewhere``: whether frames still wait upstream (throttling) of the buffers.

        ``window``: the session's tick. The sender does not run its own timers: every tick wakes it
        and it sends each frame whose deadline falls before the next tick, i.e. at most one tick
        early. One wake-up per tick for everything (CPU: a timer per frame and source costs more
        than the sending itself); deadlines stay absolute, so this never becomes a rate error.
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

    async def send_frames(self, conn: LiveConnection) -> bool:
        """Send until the connection ends (returns False) or, when flushing, every pipe is drained (True)."""
        conn.ended.add_done_callback(lambda _: self._wake.set())
        for pipe in self._pipes:
            pipe.pacer.reset()
        while conn.is_open:
            pick = self._next_due()
            if pick is None:
                if self.flushing and all(p.drained for p in self._pipes) and not self._held_elsewhere():
                    return True
                self._wake.clear()
                await self._wake.wait()
                continue
            pipe, due = pick
            if due > self._clock() + self._window:
                self._wake.clear()
                await self._wake.wait()  # the next tick
                continue
            frame = pipe.buffer.pop()
            try:
                await conn.send_audio(frame.source, frame.pcm)
            except ConnectionFailedError:
                pipe.buffer.push_front(frame)  # not sent: keep it for the next connection
                return False
            pipe.pacer.sent()
            self._on_sent(pipe, frame, self._clock())
        return False

    def _next_due(self) -> tuple[SourcePipe, float] | None:
        now = self._clock()
        best: tuple[SourcePipe, float] | None = None
        for pipe in self._pipes:
            head = pipe.buffer.peek()
            if head is not None:
                # never before its capture time: a source that runs ahead of the clock (a replay read as
                # fast as consumed has virtual capture times) is thereby sent at exactly real time
                due = max(pipe.pacer.due(now, len(pipe.buffer), hurry=self.flushing), head.capture_time)
                if best is None or due < best[1]:
                    best = (pipe, due)
        return best
