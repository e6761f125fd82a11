"""What every audio source offers the session, and the one hand-off between the audio thread and the
event loop. No sounddevice here, so replay sources and tests do not load PortAudio.

Execution contexts:
- PortAudio callback thread: ``BlockHandOff.push`` only (copy + count; never blocks, logs or raises).
- Event-loop thread: everything else, including ``BlockHandOff.drain`` and all framing.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.core.framing import Frame
from app.core.messages import Source
from app.errors import AudioError

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class CaptureCounters:
    """Counts for one source since ``start()``. Frames are 20 ms at 16 kHz."""

    captured_frames: int = 0  # frames handed out by read_frames()
    callback_overflows: int = 0  # blocks PortAudio flagged as input overflow (the OS dropped audio)
    handoff_drops: int = 0  # native blocks dropped because the hand-off was full (loop stalled)
    dropped_seconds: float = 0.0  # audio those hand-off drops (or replay skips) amount to
    callback_errors: int = 0  # unexpected exceptions swallowed in the audio callback (should stay 0)


class AudioSource(Protocol):
    """A live device or a replayed file, framed to 20 ms 16 kHz mono frames.

    The session calls ``read_frames()`` on its tick (80 ms by default) from the event loop; it
    never blocks and never raises. A device failure sets ``fault`` (a ``DeviceNotFoundError`` or
    ``DeviceFailedError`` whose text tells the user what happened) and the source then returns no
    more frames, so the session can carry on with its other source.
    """

    @property
    def source(self) -> Source: ...

    @property
    def description(self) -> str:
        """For people: which device or file this is ("" before start)."""
        ...

    @property
    def fault(self) -> AudioError | None: ...

    @property
    def finished(self) -> bool:
        """True once nothing more will come: stopped (tail read), faulted, or a replay reached its end."""
        ...

    async def start(self) -> None:
        """Open the device or file. Raises ``AudioError`` (clear message) if it cannot."""
        ...

    async def stop(self) -> None:
        """Stop capturing; the zero-padded tail is returned by the next ``read_frames()``. Idempotent."""
        ...

    def read_frames(self) -> list[Frame]:
        """Every frame captured since the last call (possibly none)."""
        ...

    def counters(self) -> CaptureCounters: ...


_Block = tuple[npt.NDArray[np.float32], int, float]  # (samples copy, device position, callback time)


class BlockHandOff:
    """Bounded single-producer/single-consumer hand-off from the PortAudio callback to the loop.

    Capacity is ``capacity_seconds`` of native audio. Drop policy: when the loop has not drained
    for that long, NEW blocks are dropped (counted, with their length) until it catches up; the
    producer cannot evict old blocks without racing the consumer. The device position still
    advances over dropped blocks, so timestamps after a gap stay true.

    Thread safety without locks: each counter is written by one side only (the GIL makes single
    attribute writes and ``deque.append``/``popleft`` atomic); the fill level is the difference
    of the two sides' sample counts, so a stale read only errs towards dropping.
    """

    def __init__(self, rate: float, capacity_seconds: float = 2.0, clock: Clock = time.monotonic) -> None:
        self.rate = float(rate)
        self.capacity_samples = max(1, round(capacity_seconds * rate))
        self._clock = clock
        self._blocks: deque[_Block] = deque()
        # Producer side (callback thread) only:
        self._pushed = 0
        self._device_pos = 0
        self._dropped_blocks = 0
        self._dropped_samples = 0
        self._overflows = 0
        self._errors = 0
        self.last_push_time: float | None = None
        # Consumer side (event loop) only:
        self._drained = 0

    def push(self, block: npt.NDArray[np.float32], overflow: bool = False) -> None:
        """Callback thread: copy ``block`` in, or drop it if full. Never raises."""
        try:
            now = self._clock()
            frames = len(block)
            pos = self._device_pos
            self._device_pos = pos + frames
            self.last_push_time = now
            if overflow:
                self._overflows += 1
            if self._pushed - self._drained + frames > self.capacity_samples:
                self._dropped_blocks += 1
                self._dropped_samples += frames
                return
            self._blocks.append((block.copy(), pos, now))
            self._pushed += frames
        except Exception:  # raising here would make sounddevice stop calling us, silently
            self._errors += 1

    def drain(self) -> list[_Block]:
        """Event loop: every queued block, oldest first, as (samples, device position, callback time)."""
        out: list[_Block] = []
        while self._blocks:
            block = self._blocks.popleft()
            self._drained += len(block[0])
            out.append(block)
        return out

    def counters(self, captured_frames: int) -> CaptureCounters:
        return CaptureCounters(
            captured_frames=captured_frames,
            callback_overflows=self._overflows,
            handoff_drops=self._dropped_blocks,
            dropped_seconds=self._dropped_samples / self.rate,
            callback_errors=self._errors,
        )

    @property
    def queued_seconds(self) -> float:
        return (self._pushed - self._drained) / self.rate


def describe_exception(exc: BaseException) -> str:
    """A one-line reason from a PortAudio or OS error, without the class path."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
