"""Per-source audio queues and the session-wide load-warning flag (CONTRACT.md sections 5 and 10). Pure.

Each source gets a FIFO of the audio messages as received (one item per message, 640 bytes for a 20 ms
frame), capped at ``queue_seconds`` of audio (64 000 bytes by default) and 500 items. A put that would
exceed the byte cap first removes the OLDEST items until the new one fits; if the item cap is full
after that, the NEW item is discarded. Every removed or discarded item is counted session-wide
("dropped frames", in items). Each item remembers where it starts in the source's received stream,
so what the recognizer consumes can be traced back to what the client sent (``recording.py``).

Warnings, faithful mode (the real server's, quirks included; one session-wide flag):

* ``backpressure``: on a put that dropped audio, if the flag is clear; it sets the flag. It carries the
  session total of dropped items, the size of THIS put's drop and the backlog left after the drop.
* At each ``tick()`` (the once-a-second metrics pass), per source in order of first audio, with the
  unrounded fill: > 95 % and flag clear: ``overloaded`` for that source, sets the flag; else > 85 % and
  flag clear: ``buffering`` (does not set the flag, so it repeats every tick); else < 70 %: the flag is
  cleared. With two sources a healthy one re-arms the flag every tick, so ``backpressure`` repeats
  while the other source keeps dropping.

Ideal mode (``faithful=False``) keeps the earlier, idealised warnings for tests that need them:
``buffering`` (at most once a second) and ``overloaded`` decided at each put, ``backpressure`` with the
session total in seconds, the flag re-armed by ``tick()``.

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
BUFFERING_REPEAT_SECONDS = 1.0  # ideal mode only
MAX_SOURCES = 2


@dataclass(frozen=True, slots=True)
class LoadWarning:
    """One queue warning status to send.

    ``dropped_frames`` is the session total (backpressure only); ``dropped_seconds`` is the size of
    the drop that raised it (faithful) or the session total in seconds (ideal).
    """

    state: str  # "buffering" | "overloaded" | "backpressure"
    source: str
    backlog_seconds: float
    fill_ratio: float
    dropped_frames: int = 0
    dropped_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class QueueStats:
    """The queue half of one ``metrics`` message, unrounded, plus the warning due before it."""

    source: str
    queue_bytes: int
    queue_bytes_max: int
    fill_ratio: float
    backlog_seconds: float
    queue_depth: int
    queue_max_frames: int
    dropped_total: int  # session-wide, all sources, in items
    dropped_recent: int  # since the previous metrics message of ANY source
    warning: LoadWarning | None = None  # faithful mode: sent just before this source's metrics


@dataclass(frozen=True, slots=True)
class PutResult:
    dropped_items: int
    dropped_bytes: int
    backlog_bytes: int  # queued bytes after the oldest items were removed, before the new one was added


class SourceQueue:
    """A FIFO of PCM items capped at ``max_bytes`` and ``max_frames`` items (see the module doc)."""

    def __init__(self, max_bytes: int, max_frames: int = QUEUE_MAX_FRAMES) -> None:
        self.max_bytes = max_bytes
        self.max_frames = max_frames
        self._items: deque[tuple[int, bytes]] = deque()  # (offset in the received stream, pcm)
        self._bytes = 0
        self.received_bytes = 0  # everything ever put, dropped or not: the end of the received stream

    @property
    def queue_bytes(self) -> int:
        return self._bytes

    @property
    def depth(self) -> int:
        return len(self._items)

    @property
    def fill_ratio(self) -> float:
        return self._bytes / self.max_bytes

    @property
    def backlog_seconds(self) -> float:
        return self._bytes / BYTES_PER_SECOND

    def put(self, item: bytes) -> PutResult:
        """Append ``item`` (at most ``max_bytes`` long), dropping the oldest items to make room."""
        if len(item) > self.max_bytes:
            raise ValueError(f"item of {len(item)} bytes exceeds the queue of {self.max_bytes}")
        offset = self.received_bytes
        self.received_bytes += len(item)
        dropped_items = dropped_bytes = 0
        while self._items and self._bytes + len(item) > self.max_bytes:
            _, old = self._items.popleft()
            self._bytes -= len(old)
            dropped_items += 1
            dropped_bytes += len(old)
        backlog = self._bytes
        if len(self._items) >= self.max_frames:  # only for items under 128 bytes: the newcomer goes
            return PutResult(dropped_items + 1, dropped_bytes + len(item), backlog)
        self._items.append((offset, item))
        self._bytes += len(item)
        return PutResult(dropped_items, dropped_bytes, backlog)

    def pop(self) -> tuple[int, bytes] | None:
        """The oldest item and its offset in the received stream, or None when empty."""
        if not self._items:
            return None
        offset, item = self._items.popleft()
        self._bytes -= len(item)
        return offset, item

    def take(self, max_bytes: int) -> list[tuple[int, bytes]]:
        """Pop whole items totalling at most ``max_bytes`` (always at least one if not empty)."""
        out: list[tuple[int, bytes]] = []
        total = 0
        while self._items and (not out or total + len(self._items[0][1]) <= max_bytes):
            offset, item = self._items.popleft()
            out.append((offset, item))
            total += len(item)
        self._bytes -= total
        return out

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0


class SessionQueues:
    """All source queues of one session plus the session-wide warning flag."""

    def __init__(self, max_bytes: int, clock: Callable[[], float], max_sources: int = MAX_SOURCES,
                 *, faithful: bool = True) -> None:
        self.max_bytes = max_bytes
        self.max_sources = max_sources
        self.faithful = faithful
        self._clock = clock
        self._queues: dict[str, SourceQueue] = {}
        self._warned = False  # the one flag: set by overloaded/backpressure, cleared at a tick
        self._last_buffering: float | None = None  # ideal mode's once-a-second buffering
        self.dropped_total = 0  # items, all sources
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

    def put(self, source: str, item: bytes) -> list[LoadWarning]:
        """Queue an item for an admitted source; return the warnings to send, in order."""
        q = self._queues[source]
        result = q.put(item)
        self.dropped_total += result.dropped_items
        self.dropped_bytes_total += result.dropped_bytes
        if not self.faithful:
            return self._ideal_put_warnings(source, q, result.dropped_items)
        if result.dropped_items and not self._warned:
            self._warned = True
            return [LoadWarning(
                "backpressure", source,
                backlog_seconds=round(result.backlog_bytes / BYTES_PER_SECOND, 2),
                fill_ratio=q.fill_ratio,
                dropped_frames=self.dropped_total,
                dropped_seconds=round(result.dropped_bytes / BYTES_PER_SECOND, 2),
            )]
        return []

    def take(self, source: str, max_bytes: int) -> list[tuple[int, bytes]]:
        return self._queues[source].take(max_bytes)

    def tick(self) -> list[QueueStats]:
        """The once-a-second pass: per source, the warning due (faithful) and the queue numbers."""
        stats: list[QueueStats] = []
        for source, q in self._queues.items():
            warning = self._tick_warning(source, q) if self.faithful else None
            if not self.faithful and q.fill_ratio < REARM_RATIO:
                self._warned = False
            recent = self.dropped_total - self._dropped_reported
            self._dropped_reported = self.dropped_total
            stats.append(QueueStats(
                source=source,
                queue_bytes=q.queue_bytes,
                queue_bytes_max=q.max_bytes,
                fill_ratio=q.fill_ratio,
                backlog_seconds=q.backlog_seconds,
                queue_depth=q.depth,
                queue_max_frames=q.max_frames,
                dropped_total=self.dropped_total,
                dropped_recent=recent,
                warning=warning,
            ))
        return stats

    def _tick_warning(self, source: str, q: SourceQueue) -> LoadWarning | None:
        fill = q.fill_ratio
        if fill > OVERLOADED_RATIO and not self._warned:
            self._warned = True
            return self._warning("overloaded", source, q)
        if fill > BUFFERING_RATIO and not self._warned:
            return self._warning("buffering", source, q)
        if fill < REARM_RATIO:
            self._warned = False
        return None

    def _ideal_put_warnings(self, source: str, q: SourceQueue, dropped: int) -> list[LoadWarning]:
        fill = q.fill_ratio
        if dropped and not self._warned:
            self._warned = True
            return [LoadWarning(
                "backpressure", source, round(q.backlog_seconds, 3), round(fill, 2),
                dropped_frames=self.dropped_total,
                dropped_seconds=round(self.dropped_bytes_total / BYTES_PER_SECOND, 3),
            )]
        if fill > OVERLOADED_RATIO and not self._warned:
            self._warned = True
            return [self._warning("overloaded", source, q)]
        if BUFFERING_RATIO <= fill <= OVERLOADED_RATIO and self._buffering_due():
            self._last_buffering = self._clock()
            return [self._warning("buffering", source, q)]
        return []

    def _buffering_due(self) -> bool:
        last = self._last_buffering
        return last is None or self._clock() - last >= BUFFERING_REPEAT_SECONDS

    def _warning(self, state: str, source: str, q: SourceQueue) -> LoadWarning:
        digits = 2 if self.faithful else 3
        return LoadWarning(state, source, round(q.backlog_seconds, digits), round(q.fill_ratio, 2))
