"""Chunked consumption, the real server's way (CONTRACT.md section 10). Pure.

A ``ChunkLane`` is one source's recognizer input. While the recognizer is not busy with it, the lane
pulls queued items one at a time into its own buffer, and stops as soon as the buffer holds a whole
chunk (``chunk_seconds`` of audio, 2 s by default). The recognizer then takes exactly one chunk off
the front (``cut``); while it works on it (``busy``) the lane pulls nothing, so the queue fills and,
if the recognizer is slower than real time, drops. Afterwards the lane drains the queue again, up to
the next chunk. Under overload the queue fill therefore saw-tooths (0.0 -> 0.5 -> 1.0, dropping ->
0.0 ...) instead of sitting near full, and drops come in bursts.

At the end of the stream, whatever the buffer holds after the last whole chunk is the remainder: it is
transcribed if it is at least ``min_final_bytes`` (0.5 s, the real server's rule), else discarded.

``t0``/``t1`` of a chunk count processed audio only: they start at 0 on each connection and every
dropped item compresses them. Each chunk also says which byte ranges of the received stream it is
made of and when each range left the queue (provenance), from the offsets the queue keeps with each
item and the time the lane was given when it pulled them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from app.backend.queues import BYTES_PER_SECOND, SourceQueue

MIN_FINAL_SECONDS = 0.5


class Span(NamedTuple):
    """Bytes ``[start, end)`` of a source's received stream, which left its queue at time ``pulled``."""

    start: int
    end: int
    pulled: float


@dataclass(frozen=True, slots=True)
class Chunk:
    """Audio handed to the recognizer in one piece."""

    pcm: bytes
    t0: float  # seconds of processed audio on this lane before this chunk
    t1: float
    spans: tuple[Span, ...]  # where the audio came from in the received stream, in order
    remainder: bool = False  # the end-of-stream rest, shorter than a chunk

    @property
    def seconds(self) -> float:
        return len(self.pcm) / BYTES_PER_SECOND


def chunk_bytes_for(chunk_seconds: float) -> int:
    """Whole 16-bit samples in ``chunk_seconds`` of 16 kHz audio (64 000 bytes for 2 s)."""
    return max(2, round(chunk_seconds * BYTES_PER_SECOND) // 2 * 2)


class ChunkLane:
    """One source's buffer between its queue and the recognizer (see the module docstring)."""

    def __init__(self, source: str, queue: SourceQueue, chunk_bytes: int,
                 min_final_bytes: int = chunk_bytes_for(MIN_FINAL_SECONDS)) -> None:
        self.source = source
        self._queue = queue
        self.chunk_bytes = chunk_bytes
        self.min_final_bytes = min_final_bytes
        self._buffer = bytearray()
        self._spans: list[Span] = []  # where the buffered bytes came from
        self.processed_bytes = 0
        self.busy = False  # the recognizer holds one of this lane's chunks

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)

    @property
    def has_chunk(self) -> bool:
        return len(self._buffer) >= self.chunk_bytes

    def pull(self, now: float) -> bool:
        """Move queued items into the buffer until it holds a chunk; True if it does. Not while busy.
        ``now`` is recorded as the time the pulled items left the queue."""
        if self.busy:
            return False
        while len(self._buffer) < self.chunk_bytes:
            popped = self._queue.pop()
            if popped is None:
                break
            offset, item = popped
            self._buffer += item
            last = self._spans[-1] if self._spans else None
            if last is not None and last.end == offset and last.pulled == now:
                self._spans[-1] = last._replace(end=offset + len(item))
            else:
                self._spans.append(Span(offset, offset + len(item), now))
        return self.has_chunk

    def cut(self) -> Chunk:
        """Take exactly one chunk off the front of the buffer (which must hold one)."""
        if not self.has_chunk:
            raise ValueError("the buffer does not hold a whole chunk")
        return self._take(self.chunk_bytes, remainder=False)

    def cut_remainder(self) -> Chunk | None:
        """End of stream: the rest of the buffer as a last chunk if long enough, else discard it."""
        size = len(self._buffer)
        if size >= self.min_final_bytes:
            return self._take(size, remainder=True)
        self._buffer.clear()
        self._spans.clear()
        return None

    def _take(self, size: int, *, remainder: bool) -> Chunk:
        pcm = bytes(self._buffer[:size])
        del self._buffer[:size]
        spans: list[Span] = []
        left = size
        while left > 0:
            first = self._spans[0]
            used = min(left, first.end - first.start)
            spans.append(first._replace(end=first.start + used))
            left -= used
            if used == first.end - first.start:
                self._spans.pop(0)
            else:
                self._spans[0] = first._replace(start=first.start + used)
        t0 = self.processed_bytes / BYTES_PER_SECOND
        self.processed_bytes += size
        return Chunk(pcm, t0, self.processed_bytes / BYTES_PER_SECOND, tuple(spans), remainder)
