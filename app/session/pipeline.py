"""Per-source plumbing of a session: ``AudioSource`` -> hold -> sends paced by flow control.

Event-loop thread only. ``SourcePipe.read`` runs on the session's tick (``app.session.ticker``, every
240 ms by default) and the intake puts the frames in the source's hold (``app.core.hold``), so audio
captured before the ``streaming`` ack, during a reconnect or while the backend stalls waits there,
bounded. The ``Sender`` task writes over one connection what flow control allows
(``app.core.server_view``: the server queue's credit, the server's liveness, a ceiling; throttling off,
live audio at real time), microphone first, each frame its own awaited ``send`` (the socket's
backpressure). It never cancels a send; it returns when the connection ends (a send raises) or, while
flushing at stop, when every hold is empty and each source's stop padding (``app.core.stop_pad``: silence
after its last frame, so the recognizer's end-of-stream rule discards only padding) is sent, at the same
pace.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from app.capture.source import AudioSource
from app.core.framing import Frame
from app.core.hold import SourceHold
from app.core.messages import FRAME_SECONDS
from app.core.server_view import ServerView
from app.core.session_state import SourceCounters
from app.core.stop_pad import is_padding, padding
from app.core.throttle import ThrottlePolicy
from app.errors import ConnectionFailedError
from app.transport.connection import LiveConnection

Clock = Callable[[], float]
LOOKAHEAD_SECONDS = 0.5
SILENT_DBFS = -120.0


def level_dbfs(frames: Sequence[Frame]) -> float:
    """RMS level of ``frames`` in dBFS (one numpy pass per tick: the meters' input)."""
    samples = np.frombuffer(b"".join(f.pcm for f in frames), dtype="<i2").astype(np.float32)
    power = float(np.dot(samples, samples)) / max(1, samples.size) / 32768.0**2
    return max(SILENT_DBFS, 10.0 * math.log10(power + 1e-12))


@dataclass(frozen=True, slots=True)
class PipeConfig:
    buffer_seconds: float = 120.0  # the hold's bound per source (the setting client_backlog_seconds)


class SourcePipe:
    """One source's capture counters and hold."""

    def __init__(self, audio: AudioSource, hold: SourceHold[Frame]) -> None:
        self.audio = audio
        self.source = audio.source
        self.hold = hold
        self.captured = 0
        self.sent = 0
        self.dropped = 0  # shed by the hold's bound while throttling was off
        self.shed = 0  # ... while it was on (silence first)
        self.unsent = 0  # given up at the end, never sent
        self.send_lag = 0.0  # of the last frame sent: send time - capture time of its first sample
        self.lag_total = 0.0
        self.lag_count = 0
        self.lag_max = 0.0
        self.done = False  # the source is finished and its last frame has been read
        self.fault_reported = False
        self.newest_capture = 0.0  # capture time of the newest frame read
        self.last_frame: Frame | None = None  # the newest frame read
        self.padding = 0  # frames of stop padding sent (silence, not captured: in no other count)
        self.input_dbfs = SILENT_DBFS  # level of the audio read lately (for the meters)

    def read(self, now: float) -> list[Frame]:
        """Newly captured frames. A source stamped ahead of ``now`` (a replay read as fast as consumed)
        is not read again until its newest frame is less than ``LOOKAHEAD_SECONDS`` ahead."""
        if self.done:
            return []
        if self.captured and self.newest_capture > now + LOOKAHEAD_SECONDS:
            return []
        frames = self.audio.read_frames()
        if self.audio.finished:  # read once more: the tail may have landed after the first read
            frames = frames + self.audio.read_frames()
            self.done = True
        if frames:
            self.last_frame = frames[-1]
            self.newest_capture = frames[-1].capture_time
            self.input_dbfs = level_dbfs(frames)
        self.captured += len(frames)
        return frames

    def note_shed(self, frames: int, throttled: bool) -> None:
        if throttled:
            self.shed += frames
        else:
            self.dropped += frames

    def note_sent(self, lag: float) -> None:
        """One frame sent ``lag`` seconds after its capture time."""
        self.sent += 1
        self.send_lag = lag
        self.lag_total += lag
        self.lag_count += 1
        if lag > self.lag_max:
            self.lag_max = lag

    def counters(self) -> SourceCounters:
        return SourceCounters(
            captured_frames=self.captured,
            sent_frames=self.sent,
            dropped_frames=self.dropped,
            buffered_frames=len(self.hold) + self.unsent,
            send_lag_seconds=self.send_lag,
            mean_send_lag_seconds=self.lag_total / self.lag_count if self.lag_count else 0.0,
            max_send_lag_seconds=self.lag_max,
            skipped_frames=self.hold.skipped,
            shed_frames=self.shed,
            padding_frames=self.padding,
        )


OnSent = Callable[[list[Frame], float], None]  # the frames of one batch, once written


class Sender:
    """Sends held frames over one connection from its own task (``send_frames``): ``on_tick()`` every
    tick, ``wake()`` when the mode changes (stop requested)."""

    def __init__(self, pipes: Sequence[SourcePipe], clock: Clock, on_sent: OnSent, throttle: ThrottlePolicy,
                 window: float = 0.02, pad_frames: int = 0) -> None:
        """``window``: the session's tick. The task runs no timers of its own: each tick wakes it, and it
        sends what flow control allows of the frames captured before the next tick (so never more than
        a tick early). ``pad_frames``: the stop padding per source (0: none)."""
        self._window = window
        self._pipes = pipes  # microphone first
        self._clock = clock
        self._on_sent = on_sent
        self._throttle = throttle
        self._wake = asyncio.Event()
        self.flushing = False  # stop requested: send everything held at the server's pace, then return
        self.pad_frames = pad_frames
        self._padding: dict[str, list[Frame]] = {}  # per source: the stop padding not sent yet

    def drop_padding(self) -> None:
        """The flush gave up: no (more) padding."""
        self.pad_frames = 0
        self._padding.clear()

    def wake(self) -> None:
        self._wake.set()

    def on_tick(self) -> None:
        """Every tick: the task sends what is due (if it is waiting for a drain, it sees it after)."""
        self._wake.set()

    async def send_frames(self, conn: LiveConnection, view: ServerView[Frame],
                          drained: Callable[[], bool]) -> bool:
        """Send until the connection ends (False) or, when flushing, ``drained()`` (True)."""
        conn.ended.add_done_callback(lambda _: self._wake.set())
        while conn.is_open:
            batch = self._take(view)
            if not batch:
                if self.flushing and drained() and not any(self._padding.values()):
                    return True
                self._wake.clear()
                await self._wake.wait()  # the next tick, the flush, or the end
                continue
            try:
                await conn.send_audio_many(batch)  # one write and one drain for the tick's frames
            except ConnectionFailedError:
                self._put_back(batch)  # not known to be sent: they go on the next connection
                return False
            self._on_sent(batch, self._clock())
        return False

    def _take(self, view: ServerView[Frame]) -> list[Frame]:
        """This tick's frames, microphone first, each source's in order (the order between sources
        means nothing: the server queues each source separately)."""
        now = self._clock()
        due = now + self._window
        batch: list[Frame] = []
        throttle = self._throttle
        for pipe in self._pipes:
            source = pipe.source.value
            if throttle.holds_back(source) and not self.flushing:
                continue
            allowed = view.allowance(source, now, throttled=throttle.enabled, flushing=self.flushing)
            frames = pipe.hold.take(allowed, due=due, skip_silence=throttle.skip_silence)
            if self.flushing:
                frames += self._pad(pipe, view, allowed - len(frames), bool(frames))
            if frames:
                view.spent(source, len(frames))
                batch += frames
        return batch

    def _pad(self, pipe: SourcePipe, view: ServerView[Frame], room: int, sending: bool) -> list[Frame]:
        """Up to ``room`` frames of ``pipe``'s stop padding, made once its last frame is read and
        taken (only if it sent audio on this connection: else the server has nothing left of it)."""
        source = pipe.source.value
        if source not in self._padding:
            last = pipe.last_frame
            if (not self.pad_frames or not pipe.done or len(pipe.hold) or last is None
                    or not (sending or view.time_map.sent_frames(source))):
                return []
            self._padding[source] = padding(last, self.pad_frames)
            view.audio_ends(source, last.capture_time + FRAME_SECONDS)
        rest = self._padding[source]
        room = max(0, room)
        self._padding[source] = rest[room:]
        return rest[:room]

    def _put_back(self, frames: list[Frame]) -> None:
        by_source: dict[str, list[Frame]] = {}
        for frame in frames:
            if is_padding(frame):
                continue  # not audio: never sent again
            by_source.setdefault(frame.source.value, []).append(frame)
        for pipe in self._pipes:
            mine = by_source.get(pipe.source.value)
            if mine:
                pipe.note_shed(len(pipe.hold.restore(mine)), self._throttle.enabled)
