"""The one bounded hand-off between the PortAudio callback thread and the event loop (live capture only).

Execution contexts:
- PortAudio callback thread: ``BlockHandOff.push`` only (copy + count; never blocks, logs or raises).
- Event-loop thread: everything else, including ``BlockHandOff.drain`` and all framing.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import numpy.typing as npt

from app.capture.source import CaptureCounters, Clock

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
        self.first_error: Exception | None = None  # kept for the loop to log (the callback cannot)
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
        except Exception as exc:  # raising here would make sounddevice stop calling us, silently
            self._errors += 1
            if self.first_error is None:
                self.first_error = exc

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
