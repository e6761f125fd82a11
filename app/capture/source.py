"""What every audio source offers the session (``AudioSource``, ``CaptureCounters``) and the hand-out of
frames and tail that the live and the replay source share (``FrameOutlet``). No sounddevice here, so
replay sources and tests do not load PortAudio. Event-loop thread only: the PortAudio callback side is
``app.capture.handoff``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

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

    The session calls ``read_frames()`` on its tick (240 ms by default) from the event loop; it
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


class FrameOutlet:
    """How every source hands out its frames, shared by the live and the replay source: it counts them,
    and once ``stop`` has flushed the framer's tail, hands that out with the next read and marks the
    source finished. Event-loop thread only."""

    def __init__(self) -> None:
        self.captured = 0  # frames handed out
        self.finished = False  # nothing more will come
        self._tail: list[Frame] | None = None

    @property
    def stopping(self) -> bool:
        """``stop`` has flushed the tail (handed out already or not)."""
        return self._tail is not None

    def end_with(self, tail: list[Frame]) -> None:
        """At ``stop``: the last frames, handed out by the next read."""
        self._tail = tail

    def take_tail(self) -> list[Frame] | None:
        """After ``stop``: the tail (once; then an empty list), and the source is finished; before: None."""
        if self._tail is None:
            return None
        tail, self._tail = self._tail, []
        self.captured += len(tail)
        self.finished = True
        return tail

    def hand_out(self, frames: list[Frame]) -> list[Frame]:
        """Count ``frames`` as captured and return them."""
        self.captured += len(frames)
        return frames
