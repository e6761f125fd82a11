"""The read-only half of a lane mirror (``app.core.server_lane.LaneMirror``): what its model says.

Pure; nothing here changes the model. From the chunks the mirror found (the last settled ones whole,
the places of all of them as runs, ``app.core.lane_history``): where a position of the server's
processed timeline was sent (the transcript time map), what the server dropped (the loss ledger), what
it surely consumed (the resend window), whether the recognizer is busy and how many more frames its
queue can take (flow control), and how long chunks take (the drain rate).
"""

from __future__ import annotations

from app.core.drop_totals import DropTotals
from app.core.lane_history import RECENT_CHUNKS, Chunk, SettledChunks, gap
from app.core.send_log import SendLog

PULL_GRACE_SECONDS = 0.3  # after a final, until the recognizer surely pulled again (credit)


class LaneAnswers:
    """Mixed into ``LaneMirror``, which keeps these up to date (``_refresh``) before any answer."""

    chunk_frames: int
    queue_frames: int
    pull_seen: bool
    log: SendLog
    _settled: SettledChunks
    _tail: list[Chunk]
    _durations: list[float]
    _filling_start: int
    _drop_totals: DropTotals

    def _refresh(self) -> None:
        raise NotImplementedError

    def chunks(self) -> list[Chunk]:
        """The last settled chunks (``app.core.lane_history.KEEP``) and every one after them; the last
        may still be in progress (``ended`` None)."""
        self._refresh()
        return [*self._settled.recent, *self._tail]

    @property
    def sent_frames(self) -> int:
        return self.log.frames

    def newest(self, t: float) -> int:
        return self.log.newest(t)

    def position(self, processed: float) -> tuple[float, int]:
        """(sent position, frames it may be off) of processed-timeline position ``processed`` (frames).
        Beyond the known chunks it continues from the last one."""
        self._refresh()
        size, settled, tail = self.chunk_frames, self._settled, self._tail
        if not settled.count and not tail:
            return processed, 0
        j = min(int(max(0.0, processed) // size), settled.count + len(tail) - 1)
        if j < settled.count:
            start, uncertain = settled.place(j, size)
        else:
            start, uncertain = tail[j - settled.count].start, tail[j - settled.count].uncertainty
        return start + (processed - j * size), uncertain

    def dropped_spans(self, *, counted: bool = False) -> list[tuple[int, int, bool]]:
        """The sent positions the server dropped: [first, last] runs (the gaps between chunks) and
        whether the run is exact. ``counted``: only the gaps the server's own count has confirmed so
        far (``app.core.drop_totals``: a report written after the chunk before the gap ended), so that
        what is shown live is never a phantom; without it, every gap the model finds (at a
        connection's end, when no later report will come)."""
        self._refresh()
        spans = list(self._settled.drops)
        prev = self._settled.last
        for chunk in self._tail:
            dropped = gap(prev, chunk)
            if dropped is not None and not (counted and prev is not None and prev.ended is not None
                                             and not self._drop_totals.confirms(prev.ended)):
                spans.append(dropped)
            prev = chunk
        return spans

    def dropped_frames(self, *, counted: bool = False) -> int:
        return sum(last - first + 1 for first, last, _ in self.dropped_spans(counted=counted))

    def consumed(self) -> int:
        """Sent positions below this have surely left the queue (processed or dropped): the end of the
        last chunk whose processing is known to have ended, plus one."""
        for chunk in reversed(self.chunks()):
            if chunk.ended is not None and chunk.exact:
                return chunk.end + 1
        return self._settled.exact_end + 1

    def max_uncertainty(self) -> int:
        """The largest uncertainty (frames) of any chunk's place so far: 0 when every place is exact."""
        self._refresh()
        return max([self._settled.max_uncertainty, *(c.uncertainty for c in self._tail)])

    def busy(self, now: float) -> Chunk | None:
        """The chunk being processed at ``now`` as far as the evidence shows, else None (filling)."""
        chunks = self.chunks()
        if chunks and chunks[-1].ended is None and chunks[-1].started <= now:
            return chunks[-1]
        return None

    def queued(self, now: float) -> int:
        """Frames in the server's queue at ``now``, by the model."""
        chunk = self.busy(now)
        return 0 if chunk is None else max(0, min(self.queue_frames, self.newest(now) - chunk.end))

    def credit(self, now: float, margin: int) -> int:
        """How many more frames may be sent at ``now`` so that the queue stays at or below
        ``queue_frames - margin`` until the recognizer is seen to take its next chunk. For
        ``PULL_GRACE_SECONDS`` after a chunk's final the recognizer may not have pulled yet (a busy
        server): everything sent since that chunk counts as queued meanwhile, and the queue may be
        filled to the brim (if it did pull, that completes its next chunk without waiting for the
        grace to pass: catching up runs at the recognizer's pace, not a round trip's). Until the
        recognizer is seen pulling at all (``pull_seen``: a fresh connection, a server still loading its
        model, of unknown speed), only what the queue alone can hold. Every frame written counts,
        arrived or not (after a stall the socket may still hold some)."""
        room = self.queue_frames - margin
        newest = self.sent_frames - 1  # in flight or not, every frame written will be in the queue
        if not self.pull_seen:
            return room - newest
        last = next((c for c in reversed(self.chunks()) if c.ended is not None), None)
        if last is not None and now - (last.ended or 0.0) < PULL_GRACE_SECONDS:
            # Not pulled yet, the queue holds at most what was sent after that chunk: it may fill to
            # the brim (no margin), which completes the next chunk at once if it did pull.
            return self.queue_frames - last.uncertainty - (newest - last.end)
        chunk = self.busy(now)
        if chunk is None:  # filling: it takes frames as they come until the chunk is full
            return max(0, self._filling_start + self.chunk_frames - 1 - newest) + room
        return room - (newest - chunk.end)

    def processing_times(self) -> list[float]:
        """Processing times of recent chunks known exactly (drain rate = chunk seconds / time)."""
        recent = [c.ended - c.started for c in self.chunks()[-2 * RECENT_CHUNKS:]
                  if c.exact and c.ended is not None]
        return recent or list(self._durations)
