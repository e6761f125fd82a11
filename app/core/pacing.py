"""Send pacing: a bounded per-source client buffer and absolute send deadlines with a bounded catch-up rate.

Pure: no I/O, the caller passes ``now`` (seconds on any monotonic clock), so tests step time.

Why absolute deadlines: frame ``k`` after an anchor is due at ``anchor + k * frame_seconds / rate``, a
product rather than a running sum, so the send rate never drifts however long the session runs.
Why a catch-up rate: audio captured before the ``streaming`` ack or during a reconnect gap is a backlog.
Sending it at 1x would turn it into permanent latency (the macOS client's behaviour); sending it all at
once would overflow the server's 2 s queue. So while more than ``catchup_after_seconds`` is waiting,
frames go out at ``catchup_rate`` times real time until the buffer is empty again, and at 1x otherwise.

The buffer holds at most ``capacity_seconds`` per source. Drop policy: drop the OLDEST frame (the
transcript stays live, as on the server), and count every drop.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from app.core.messages import FRAME_SECONDS


class TimedFrame(Protocol):
    """What the buffer needs from a frame: ``app.core.framing.Frame`` satisfies it."""

    @property
    def capture_time(self) -> float: ...

    @property
    def index(self) -> int: ...


F = TypeVar("F", bound=TimedFrame)


@dataclass(frozen=True, slots=True)
class BufferCounters:
    pushed: int
    popped: int
    dropped: int
    buffered: int


class SourceBuffer(Generic[F]):
    """A bounded FIFO of frames for one source; drop-oldest when full, every drop counted."""

    def __init__(self, capacity_seconds: float = 30.0, frame_seconds: float = FRAME_SECONDS) -> None:
        if capacity_seconds <= 0:
            raise ValueError("capacity_seconds must be > 0")
        self.capacity_frames = max(1, math.floor(capacity_seconds / frame_seconds + 1e-9))
        self._frames: deque[F] = deque()
        self._pushed = 0
        self._popped = 0
        self._dropped = 0

    def push(self, frame: F) -> int:
        """Append a frame; returns how many old frames were dropped to make room (0 or 1)."""
        dropped = 0
        if len(self._frames) >= self.capacity_frames:
            self._frames.popleft()
            self._dropped += 1
            dropped = 1
        self._frames.append(frame)
        self._pushed += 1
        return dropped

    def peek(self) -> F | None:
        return self._frames[0] if self._frames else None

    def pop(self) -> F:
        frame = self._frames.popleft()
        self._popped += 1
        return frame

    def push_front(self, frame: F) -> None:
        """Undo a ``pop`` whose send failed. If the buffer filled meanwhile, this frame is the oldest
        one, so by the drop-oldest policy it is the one dropped (and counted)."""
        self._popped -= 1
        if len(self._frames) >= self.capacity_frames:
            self._dropped += 1
            return
        self._frames.appendleft(frame)

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def counters(self) -> BufferCounters:
        return BufferCounters(self._pushed, self._popped, self._dropped, len(self._frames))


class SendPacer:
    """Deadlines for one source on one connection.

    Call ``due(now, backlog)`` for the frame at the head of the buffer, send it when ``now >= due``,
    then call ``sent()``. ``reset()`` at every new connection: the next frame re-anchors the schedule.

    Lateness up to ``slack_frames`` is made up by sending the late frames back to back (loop jitter
    must not bend the absolute schedule); beyond that the source itself was late (or a send blocked),
    and the schedule re-anchors at ``now`` instead of bursting to catch up with it.
    """

    def __init__(
        self,
        *,
        frame_seconds: float = FRAME_SECONDS,
        catchup_rate: float = 2.0,
        catchup_after_seconds: float = 0.1,
        slack_frames: int = 3,
    ) -> None:
        if catchup_rate < 1.0:
            raise ValueError("catchup_rate must be >= 1")
        self.frame_seconds = frame_seconds
        self.catchup_rate = catchup_rate
        self.catchup_after_seconds = catchup_after_seconds
        self.slack_seconds = slack_frames * frame_seconds
        self.reset()

    def reset(self) -> None:
        self._anchor_time: float | None = None
        self._anchor_k = 0
        self._rate = 1.0
        self._k = 0  # frames sent since reset

    @property
    def rate(self) -> float:
        """The current rate as a multiple of real time (1.0 or ``catchup_rate``)."""
        return self._rate

    @property
    def sent_frames(self) -> int:
        return self._k

    def due(self, now: float, backlog_frames: int, *, hurry: bool = False) -> float:
        """The absolute time the next frame may be sent. ``backlog_frames`` counts the waiting frames
        including this one; ``hurry`` (tail flush at stop) selects the catch-up rate regardless."""
        # hysteresis: catch up once more than catchup_after_seconds waits, and keep going until only
        # this frame is left, so no residual backlog stays behind as latency
        behind = backlog_frames * self.frame_seconds > self.catchup_after_seconds
        catching_up = self._rate > 1.0 and backlog_frames > 1
        rate = self.catchup_rate if (hurry or behind or catching_up) else 1.0
        if self._anchor_time is None:
            self._anchor(now, rate)
        elif rate > self._rate:
            # continue from the previous frame's deadline at the faster rate: no jump, no burst
            self._anchor(self._deadline(self._k - 1), rate, self._k - 1)
        elif rate < self._rate:
            # backlog drained: this frame goes as soon as the catch-up rate allows, and the 1x schedule
            # starts from it, so live frames keep going out as they arrive (no phase lag carried over)
            self._anchor(max(now, self._deadline(self._k)), rate)
        deadline = self._deadline(self._k)
        if deadline < now - self.slack_seconds:
            self._anchor(now, rate)
            deadline = now
        return deadline

    def sent(self) -> None:
        self._k += 1

    def _anchor(self, at: float, rate: float, k: int | None = None) -> None:
        self._anchor_time = at
        self._anchor_k = self._k if k is None else k
        self._rate = rate

    def _deadline(self, k: int) -> float:
        assert self._anchor_time is not None
        return self._anchor_time + (k - self._anchor_k) * self.frame_seconds / self._rate
