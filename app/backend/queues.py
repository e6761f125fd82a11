"""Per-source audio queues and the session-wide load-warning flag (CONTRACT.md section 5). Pure.

Each source gets a FIFO capped in bytes (``queue_seconds`` of audio, 64 000 bytes by default) and in
chunks (500). Drop policy: when a new chunk would exceed a cap, the OLDEST queued chunks are dropped
so the recognizer stays live; what was dropped is counted session-wide.

Warnings reproduce the real server's throttling, quirks included:

* ``buffering``: on a put that leaves a source 85-95 % full, at most once a second (session-wide).
* ``backpressure``: on a put that dropped audio, if the flag is clear; then the flag is set.
* ``overloaded``: on a put that leaves a source > 95 % full, if the flag is clear; then the flag is set.
* The flag is re-armed by ``tick()`` (the server's once-a-second metrics pass) when SOME source is
  below 70 % full. With two sources, a healthy one therefore re-arms it every second and
  ``overloaded``/``backpressure`` repeat while the other source stays overloaded.

The clock is injected (seconds, monotonic) so tests step time instead of sleeping.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

BYTES_PER_SECOND = 32_000  # 16 kHz * 2 bytes, mono
QUEUE_MAX_FRAMES = 500
BUFFERING_RATIO = 0.85
OVERLOADED_RATIO = 0.95
REARM_RATIO = 0.70
BUFFERING_REPEAT_SECONDS = 1.0
MAX_SOURCES = 2


@dataclass(frozen=True, slots=True)
class LoadWarning:
    """One warning status to send. ``dropped_*`` are session totals (backpressure only)."""

    state: str  # "buffering" | "overloaded" | "backpressure"
    source: str
    backlog_seconds: float
    fill_ratio: float
    dropped_frames: int = 0
    dropped_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class QueueStats:
    """The queue half of one ``metrics`` message."""

    source: str
    queue_bytes: int
    queue_bytes_max: int
    fill_ratio: float
    backlog_seconds: float
    queue_depth: int
    queue_max_frames: int
    dropped_total: int  # session-wide, all sources, in chunks
    dropped_recent: int  # since the previous metrics message of ANY source


class SourceQueue:
    """A FIFO of PCM chunks capped at ``max_bytes`` and ``max_frames``; ``put`` drops the oldest."""

    def __init__(self, max_bytes: int, max_frames: int = QUEUE_MAX_FRAMES) -> None:
        self.max_bytes = max_bytes
        self.max_frames = max_frames
        self._chunks: deque[bytes] = deque()
        self._bytes = 0

    @property
    def queue_bytes(self) -> int:
        return self._bytes

    @property
    def depth(self) -> int:
        return len(self._chunks)

    @property
    def fill_ratio(self) -> float:
        return self._bytes / self.max_bytes

    @property
    def backlog_seconds(self) -> float:
        return self._bytes / BYTES_PER_SECOND

    def put(self, chunk: bytes) -> tuple[int, int]:
        """Append ``chunk`` (at most ``max_bytes`` long); return ``(chunks, bytes)`` dropped to fit it."""
        if len(chunk) > self.max_bytes:
            raise ValueError(f"chunk of {len(chunk)} bytes exceeds the queue of {self.max_bytes}")
        dropped_chunks = dropped_bytes = 0
        while self._chunks and (
            self._bytes + len(chunk) > self.max_bytes or len(self._chunks) >= self.max_frames
        ):
            old = self._chunks.popleft()
            self._bytes -= len(old)
            dropped_chunks += 1
            dropped_bytes += len(old)
        self._chunks.append(chunk)
        self._bytes += len(chunk)
        return dropped_chunks, dropped_bytes

    def take(self, max_bytes: int) -> bytes:
        """Pop whole chunks totalling at most ``max_bytes`` (always at least one if not empty)."""
        parts: list[bytes] = []
        total = 0
        while self._chunks and (not parts or total + len(self._chunks[0]) <= max_bytes):
            chunk = self._chunks.popleft()
            parts.append(chunk)
            total += len(chunk)
        self._bytes -= total
        return b"".join(parts)


class SessionQueues:
    """All source queues of one session plus the session-wide warning flag."""

    def __init__(self, max_bytes: int, clock: Callable[[], float], max_sources: int = MAX_SOURCES) -> None:
        self.max_bytes = max_bytes
        self.max_sources = max_sources
        self._clock = clock
        self._queues: dict[str, SourceQueue] = {}
        self._warned = False  # the one flag: set by overloaded/backpressure, cleared by tick()
        self._last_buffering: float | None = None
        self.dropped_total = 0  # chunks, all sources
        self.dropped_bytes_total = 0
        self._dropped_reported = 0

    @property
    def sources(self) -> tuple[str, ...]:
        """Active sources in order of first audio."""
        return tuple(self._queues)

    @property
    def warned(self) -> bool:
        return self._warned

    def admit(self, source: str) -> bool:
        """Register ``source`` if there is room; False for a source beyond ``max_sources``."""
        if source in self._queues:
            return True
        if len(self._queues) >= self.max_sources:
            return False
        self._queues[source] = SourceQueue(self.max_bytes)
        return True

    def queue(self, source: str) -> SourceQueue:
        return self._queues[source]

    def put(self, source: str, chunk: bytes) -> list[LoadWarning]:
        """Queue a chunk for an admitted source; return the warnings to send, in order."""
        q = self._queues[source]
        chunks, nbytes = q.put(chunk)
        self.dropped_total += chunks
        self.dropped_bytes_total += nbytes
        fill = q.fill_ratio
        if chunks and not self._warned:
            self._warned = True
            return [self._warning("backpressure", source, q)]
        if fill > OVERLOADED_RATIO and not self._warned:
            self._warned = True
            return [self._warning("overloaded", source, q)]
        if BUFFERING_RATIO <= fill <= OVERLOADED_RATIO and self._buffering_due():
            self._last_buffering = self._clock()
            return [self._warning("buffering", source, q)]
        return []

    def take(self, source: str, max_bytes: int) -> bytes:
        return self._queues[source].take(max_bytes)

    def tick(self) -> list[QueueStats]:
        """The once-a-second pass: queue stats per source, and the flag re-armed if some source is < 70 %."""
        stats: list[QueueStats] = []
        for source, q in self._queues.items():
            recent = self.dropped_total - self._dropped_reported
            self._dropped_reported = self.dropped_total
            if q.fill_ratio < REARM_RATIO:
                self._warned = False
            stats.append(
                QueueStats(
                    source=source,
                    queue_bytes=q.queue_bytes,
                    queue_bytes_max=q.max_bytes,
                    fill_ratio=round(q.fill_ratio, 2),
                    backlog_seconds=round(q.backlog_seconds, 3),
                    queue_depth=q.depth,
                    queue_max_frames=q.max_frames,
                    dropped_total=self.dropped_total,
                    dropped_recent=recent,
                )
            )
        return stats

    def _buffering_due(self) -> bool:
        last = self._last_buffering
        return last is None or self._clock() - last >= BUFFERING_REPEAT_SECONDS

    def _warning(self, state: str, source: str, q: SourceQueue) -> LoadWarning:
        return LoadWarning(
            state=state,
            source=source,
            backlog_seconds=round(q.backlog_seconds, 3),
            fill_ratio=round(q.fill_ratio, 2),
            dropped_frames=self.dropped_total if state == "backpressure" else 0,
            dropped_seconds=round(self.dropped_bytes_total / BYTES_PER_SECOND, 3)
            if state == "backpressure"
            else 0.0,
        )
