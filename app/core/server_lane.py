"""What one source's lane on the server did with the frames this client sent, on one connection.

The EchoPanel server (CONTRACT.md 10) keeps per source a drop-oldest queue of ``queue_frames`` (64 000
bytes = 100 frames of 20 ms) and a recognizer that, while idle, pulls frames one by one until it holds
one chunk (``chunk_frames``, 2 s by default), transcribes it pulling nothing meanwhile, sends the chunk's
finals and pulls again. So every chunk is a contiguous run of the frames this client sent, and the
server's drops are exactly the gaps between chunks:

    start(j+1) = max(end(j) + 1, newest(T_j) - queue_frames + 1)

``T_j``: when chunk j's processing ended (its first final arrives then); ``newest(t)``: the last frame
that had arrived by ``t``. Chunk j's processing starts once its last frame arrived and chunk j-1 is done.

``LaneMirror`` replays that model over the client's own send log (``app.core.send_log``) with the
evidence the server gives (finals; metrics, ``app.core.chunk_end`` for chunks no final marks; the chunk
size, ``app.core.chunk_size``); what it answers from the chunks it found (positions, drops, consumed,
credit, drain rate) is ``app.core.lane_answers``, what it keeps of settled chunks
``app.core.lane_history``. Chunks after an estimated end carry its uncertainty (in frames) until
evidence settles it (a report that found the queue partly full while a chunk a final ends was
processed says where it ends).

Where the evidence only estimates a chunk's end, the gap after it may be a phantom; the server's own
count of its drops (``dropped_total``, all lanes together) is their ceiling (``app.core.drop_totals``):
no lane's gaps up to a chunk exceed the count reported after it ended, and what is shown live
(``dropped_spans(counted=True)``) waits for that report.

Two things the evidence does not say exactly. A message is read a little after the server wrote it
(``app.core.chunk_end``: a report fits the frames written up to a quarter second before it was read).
And a server that went silent for ``STALL_SECONDS`` was stopped: what was written meanwhile sat in the
socket and reaches it when it speaks again (``heard``), and whether the chunk it was in pulled its
successor before or after reading that is a race, carried as the successor's uncertainty until a
report that finds its queue partly full places it.

Times are the caller's: arrival of each send batch and the server time of each message. Cost: evidence
only re-examines the chunks after the last settled one (exact, or ``SETTLE_SECONDS`` after it ended);
memory is the unsettled tail, the last settled chunks and one record per drop
(``app.core.lane_history``). Pure: no I/O, no clock of its own.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from dataclasses import dataclass

from app.core.chunk_end import ChunkInProgress, estimate_end, placed_by_report, spread
from app.core.chunk_size import infer_chunk_frames
from app.core.drop_totals import DropTotals
from app.core.lane_answers import LaneAnswers
from app.core.lane_history import RECENT_CHUNKS, Chunk, SettledChunks
from app.core.messages import FRAME_SECONDS
from app.core.resume import MAX_RESUMES, RESUME_SECONDS, STALL_SECONDS, Resume, after_resume, placed
from app.core.send_log import SendLog

DEFAULT_CHUNK_FRAMES = 100  # 2 s: the real server's ECHOPANEL_ASR_CHUNK_SECONDS default
DEFAULT_QUEUE_FRAMES = 100  # 64 000 bytes of 640-byte frames
TOLERANCE_FRAMES = 2  # skew between the client's send log and the server's queue at one instant
SETTLE_SECONDS = 30.0  # an estimated chunk end this old gets no more evidence: stop re-examining it
MAX_METRICS = 4096


@dataclass(slots=True)
class _Cursor:
    """Where the model continues after the settled chunks."""

    start: int = 0
    uncertainty: int = 0
    prev_ended: float = 0.0
    race: int = 0


class LaneMirror(LaneAnswers):
    """See the module docstring. ``sent`` for every batch written, ``final`` and ``metrics`` as they
    arrive, in order; then read ``chunks()``, ``position()``, ``dropped_spans()``, ``credit()``..."""

    def __init__(self, chunk_frames: int | None = None, queue_frames: int = DEFAULT_QUEUE_FRAMES, *,
                 tolerance_frames: int = TOLERANCE_FRAMES) -> None:
        """``chunk_frames``: the recognizer's chunk when known; None infers it (2 s until shown otherwise).
        ``tolerance_frames``: how far the send log and the server's queue may disagree at one instant
        (the frames written in one batch, whose arrival the server may or may not have seen yet)."""
        if queue_frames < 1 or (chunk_frames is not None and chunk_frames < 1):
            raise ValueError("queue_frames and chunk_frames must be >= 1")
        self.queue_frames = queue_frames
        self.tolerance = tolerance_frames
        self._chunk_fixed = chunk_frames is not None
        self.chunk_frames = chunk_frames or DEFAULT_CHUNK_FRAMES
        self.log = SendLog()
        self._finals: list[tuple[int, float]] = []  # (end of a final, processed frames; arrival)
        self._metrics: list[tuple[float, int]] = []  # (time, queued frames)
        self._drop_totals = DropTotals()  # the server's own count bounds every gap (app.core.drop_totals)
        self._settled = SettledChunks()
        self._cursor = _Cursor()
        self._durations: list[float] = []  # processing times of exact chunks, recent last
        self._tail: list[Chunk] = []
        self._filling_start = 0
        self._pruned = False  # the log and reports of settled chunks were forgotten
        self._dropped_seen = False
        self.pull_seen = False  # the recognizer was seen taking frames from the queue on this connection
        self._dirty = True
        self.evidence_time = 0.0  # the newest evidence seen (for settling)
        self._heard: float | None = None  # the server's last message (any), once it reported its load
        self.resumes: list[Resume] = []  # the server spoke again after a stall (app.core.resume)

    # ------------------------------------------------------------------ inputs

    def sent(self, frames: int, at: float) -> None:
        """``frames`` more frames arrived at ``at`` (positions continue from the previous batch)."""
        if frames > 0:
            self.log.add(frames, at)
            self._dirty = True

    def heard(self, at: float) -> None:
        """The server sent something at ``at`` (any message, of any lane). Once it has reported its
        load, a silence of ``STALL_SECONDS`` means it was stopped: what this client wrote meanwhile
        reached it only now (``SendLog.held_back``)."""
        last = self._heard
        if last is None:
            if self._metrics:
                self._heard = at
            return
        self._heard = max(last, at)
        if at - last > STALL_SECONDS:
            before, after = self.log.held_back(last, at)
            self.resumes.append(Resume(at, before, after))
            del self.resumes[: -MAX_RESUMES]
            self._dirty = True

    def _resumed(self, at: float) -> bool:
        return bool(self.resumes) and 0.0 <= at - self.resumes[-1].at < RESUME_SECONDS

    def final(self, t0: float, t1: float, at: float) -> None:
        """An ``asr_final`` of this lane (``t0``/``t1`` in processed seconds) sent at ``at``."""
        self.heard(at)
        end = max(round(t1 / FRAME_SECONDS), round(t0 / FRAME_SECONDS) + 1)
        bisect.insort(self._finals, (end, at))
        self.pull_seen = True
        self.evidence_time = max(self.evidence_time, at)
        self._dirty = True

    def metrics(self, queued_frames: int, at: float, dropped_total: int | None = None) -> None:
        """A ``metrics`` message of this lane sent at ``at``: its queue, and the session's ``dropped_total``
        (after a drop chunks may not be back to back: the chunk size is no longer inferred)."""
        self.heard(at)
        if self._heard is None:
            self._heard = at
        if dropped_total:
            self._dropped_seen = True
        if self._resumed(at):
            self.evidence_time = max(self.evidence_time, at)
            return
        if queued_frames + self.tolerance < self.newest(at):
            self.pull_seen = True  # fewer queued than sent: the recognizer is pulling
        self._metrics.append((at, max(0, queued_frames)))
        if dropped_total is not None:
            self._drop_totals.add(dropped_total, at)
        del self._metrics[: -MAX_METRICS]  # bounded even if nothing settles
        self.evidence_time = max(self.evidence_time, at)
        if not self._chunk_fixed and not self._dropped_seen:
            self._infer_chunk()
        self._dirty = True

    def arrival(self, position: int) -> float | None:
        return self.log.arrival(position)

    # ------------------------------------------------------------------ the model

    def _refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self._tail = self._run(self._cursor, list(self._durations))
        self._settle()

    def _run(self, cursor: _Cursor, durations: list[float]) -> list[Chunk]:
        """The chunks from ``cursor`` on, as far as the evidence reaches."""
        size, cap, tolerance = self.chunk_frames, self.queue_frames, self.tolerance
        finals = self._final_times(self._settled.count)
        out: list[Chunk] = []
        start, uncertain, prev_ended, race = cursor.start, cursor.uncertainty, cursor.prev_ended, cursor.race
        j = self._settled.count
        last = self._settled.last
        prev_end = -1 if last is None else last.end
        dropped = self._settled.dropped_frames  # by this lane, before the chunk being placed
        while True:
            end = start + size - 1
            filled = self.arrival(end)
            if filled is None:
                self._filling_start = start
                return out
            began = max(filled, prev_ended)
            pinned: int | None = None
            ended: float | None = finals.get(j)
            exact = ended is not None
            if race and ended is not None:
                shift = placed(self._metrics, self.log, queue=cap, tolerance=self.tolerance, end=end,
                               uncertain=race, began=began, ended=ended)
                if shift is not None:  # a report told the race's outcomes apart
                    start, end, uncertain, race = start + shift, end + shift, max(0, uncertain - race), 0
                    began = max(self.arrival(end) or began, prev_ended)
            elif uncertain and ended is not None:
                pin = placed_by_report(self._metrics, self.log, size=size, queue=cap, tolerance=tolerance,
                                       since=prev_ended, ended=ended, after=prev_end)
                if pin is not None:  # a report meanwhile found the queue partly full: it ends there
                    end, uncertain = pin
                    start = end - size + 1
                    began = max(self.arrival(end) or began, prev_ended)
            if ended is None:
                ended, exact, pinned = self._estimate_end(j, end, began, durations, finals, race)
            dropped += max(0, start - prev_end - 1)
            if ended is None:
                out.append(Chunk(start, end, began, None, False, uncertain, race))
                self._filling_start = end + 1
                return out
            out.append(Chunk(start, end, began, ended, exact, uncertain, race))
            if exact:
                durations.append(ended - began)
            counted = self._drop_totals  # no gap wider than the server's own count (app.core.drop_totals)
            following = counted.narrow(end, ended, max(end + 1, self.newest(ended) - cap + 1), dropped)
            if pinned is not None and counted.narrow(end, ended, pinned, dropped) != pinned:
                pinned = None  # the report's place needs drops the server did not count
            if pinned is not None:
                following, uncertain = pinned, 0
            elif exact:  # a gap wider than where this chunk may end: the queue was full, its start exact
                uncertain = 0 if following > end + uncertain + 1 else uncertain
            else:
                uncertain += spread(self.log, end, self.queue_frames, began, ended)
            race = 0
            if pinned is None:
                following, widened = after_resume(self.resumes, cap, began=began, ended=ended, end=end,
                                                  following=following, uncertain=uncertain)
                race, uncertain = widened - uncertain, widened
            start, prev_ended, prev_end = following, ended, end
            j += 1

    def _final_times(self, first_chunk: int) -> dict[int, float]:
        """Chunk index (from ``first_chunk`` on) -> arrival of its first final, for the current size."""
        out: dict[int, float] = {}
        lowest = first_chunk * self.chunk_frames
        for end, at in self._finals[bisect.bisect_right(self._finals, (lowest, float("inf"))):]:
            out.setdefault((end - 1) // self.chunk_frames, at)
        return out

    def _estimate_end(self, j: int, end: int, began: float, durations: list[float],
                      finals: dict[int, float], race: int = 0) -> tuple[float | None, bool, int | None]:
        """(end time, exact, the next chunk's start if a metrics message pins it) of chunk ``j``, which
        no final marks (``app.core.chunk_end``); (None, False, None) while nothing shows it ended."""
        later = min((t for k, t in finals.items() if k > j), default=None)
        typical = statistics.median(durations[-RECENT_CHUNKS:]) if durations else None
        # From just after ``began``: when the previous chunk's end is an estimate, ``began`` is the last
        # report that found that chunk still busy, which says nothing about this one.
        # Until a later chunk's final: it had ended by then, whatever a report after that fits.
        stop = len(self._metrics) if later is None else bisect.bisect_left(self._metrics, (later, -1))
        reports = self._metrics[bisect.bisect_right(self._metrics, (began, self.queue_frames + 1)):stop]
        progress = ChunkInProgress(end, began, self.chunk_frames, self.queue_frames, self.tolerance, race)
        return estimate_end(progress, reports, self.log, typical=typical, later_final=later)

    def _settle(self) -> None:
        """Move the leading exact (or old) tail chunks into the settled list and forget what only
        they needed: the send log, metrics and finals before them. A chunk followed by a gap the
        server's count has not confirmed yet stays (the count may still narrow the gap, and the model
        continues from the next chunk's start)."""
        moved = 0
        for chunk, following in itertools.pairwise(self._tail):  # the last one stays
            if chunk.ended is None:
                break
            old = self.evidence_time - chunk.ended > SETTLE_SECONDS
            if not (chunk.exact or old):
                break
            if following.start > chunk.end + 1 and not (old or self._drop_totals.confirms(chunk.ended)):
                break
            moved += 1
        if moved == 0:
            return
        done, self._tail = self._tail[:moved], self._tail[moved:]
        for chunk in done:
            self._settled.add(chunk)
            if chunk.exact and chunk.ended is not None:
                self._durations.append(chunk.ended - chunk.started)
        del self._durations[: -2 * RECENT_CHUNKS]
        nxt = self._tail[0]
        ended = done[-1].ended
        assert ended is not None
        self._cursor = _Cursor(nxt.start, nxt.uncertainty, ended, nxt.race)
        self._prune(ended, nxt.start, self._settled.count * self.chunk_frames)

    def _prune(self, from_time: float, from_position: int, processed: int) -> None:
        """Forget the send batches, metrics and finals that only the settled chunks needed: the model
        asks ``newest(t)`` for t >= ``from_time`` and ``arrival(p)`` for p >= ``from_position``."""
        self._drop_totals.forget(from_time)
        self._pruned = self.log.forget(from_time, from_position) or self._pruned
        del self._metrics[: bisect.bisect_left(self._metrics, (from_time, -1))]
        del self._finals[: bisect.bisect_right(self._finals, (processed, float("inf")))]

    def _infer_chunk(self) -> None:
        size = infer_chunk_frames(self._metrics, self.newest, self.chunk_frames, self.queue_frames,
                                  self.tolerance)
        if size != self.chunk_frames and not self._pruned:
            self.chunk_frames = size
            self._settled, self._cursor, self._durations = SettledChunks(), _Cursor(), []
            self._dirty = True
