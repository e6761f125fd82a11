"""The recognizer side of a faithful session: chunked consumption (``chunking.py``) on asyncio.

Each source has a ``ChunkLane``. A lane pulls from its queue whenever the recognizer is not busy with
it: right after each put (``queued``) and right after its chunk is done, so the queue stays empty
while the recognizer keeps up. When a lane holds a whole chunk it becomes READY; a worker cuts the
chunk, records it (``on_chunk``: audio and provenance), transcribes it, waits until the chunk has taken at
least ``min_rtf(source) x`` its duration (the simulated recognizer's whole cost; a floor for a real
one; the RTF in force when the chunk starts counts), hands the finals to ``on_finals`` and only then
lets the lane pull again. Meanwhile that lane's queue fills and, under overload, drops.

Workers: one per source by default (two sources are transcribed concurrently, as on the real server,
where each source's recognizer runs in its own thread); with ``shared=True`` one worker serves both
sources of the session, one chunk at a time, FIFO by readiness: chunks are taken in the order their
lanes became READY, and a lane that is READY again right after its own chunk queues behind the other.
A lane waiting for the shared worker keeps pulling until its buffer holds a chunk, then stops.

``finish()`` (after ``stop``): each worker finishes the chunk in progress, drains its lanes' queues in
whole chunks, then transcribes the remainder if it is at least 0.5 s long (else discards it). ``wait``
bounds that by a timeout (the real server's 8 s) and cancels what is left.

Execution context: the event loop. Transcribers run blocking work in their own executor.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from app.backend.chunking import Chunk, ChunkLane
from app.backend.queues import SessionQueues
from app.backend.recognizers import ChunkTranscriber, Final

log = logging.getLogger(__name__)


@dataclass
class _Worker:
    """One recognizer: the lanes it serves, the READY ones in order, and its task."""

    lanes: list[ChunkLane] = field(default_factory=list)
    ready: deque[ChunkLane] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    transcribers: dict[str, ChunkTranscriber] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None
    done: set[str] = field(default_factory=set)  # sources flushed completely after finish()

    def mark_ready(self, lane: ChunkLane) -> None:
        if lane not in self.ready:
            self.ready.append(lane)
            self.wake.set()


class ChunkConsumer:
    """Feeds a session's queued audio to its recognizer a chunk at a time (module docstring)."""

    def __init__(
        self,
        queues: SessionQueues,
        open_transcriber: Callable[[], Awaitable[ChunkTranscriber]],
        *,
        chunk_bytes: int,
        shared: bool,
        min_rtf: Callable[[str], float],
        on_chunk: Callable[[str, Chunk], None],
        on_finals: Callable[[str, list[Final]], Awaitable[None]],
        clock: Callable[[], float],
    ) -> None:
        self._queues = queues
        self._open = open_transcriber
        self._chunk_bytes = chunk_bytes
        self._shared = shared
        self._min_rtf = min_rtf
        self._on_chunk = on_chunk
        self._on_finals = on_finals
        self._clock = clock
        self._lanes: dict[str, ChunkLane] = {}
        self._workers: dict[str, _Worker] = {}  # by source; shared: every source maps to one worker
        self._finishing = False

    def add_source(self, source: str) -> None:
        """Start consuming an admitted source (on its first audio)."""
        if source in self._lanes:
            return
        lane = ChunkLane(source, self._queues.queue(source), self._chunk_bytes)
        self._lanes[source] = lane
        worker = next(iter(self._workers.values()), None) if self._shared else None
        if worker is None:
            worker = _Worker()
            worker.task = asyncio.create_task(self._run(worker), name=f"asr-{source}")
            worker.task.add_done_callback(_log_failure)
        worker.lanes.append(lane)
        self._workers[source] = worker

    def queued(self, source: str) -> None:
        """Audio was put into ``source``'s queue: pull it unless the recognizer is busy with it."""
        lane = self._lanes[source]
        if lane.pull(self._clock()):
            self._workers[source].mark_ready(lane)

    def finish(self) -> None:
        """No more audio: flush every lane (chunk in progress, whole chunks, then the remainder)."""
        self._finishing = True
        for worker in self._workers.values():
            worker.wake.set()

    async def wait(self, timeout: float) -> bool:
        """Wait for the flush; False (and the rest cancelled) if it took longer than ``timeout``."""
        tasks = {w.task for w in self._workers.values() if w.task is not None}
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return not pending

    async def close(self) -> None:
        """Cancel the workers and give the transcribers back."""
        workers = {id(w): w for w in self._workers.values()}.values()
        tasks = [w.task for w in workers if w.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for worker in workers:
            for transcriber in worker.transcribers.values():
                transcriber.close()
            worker.transcribers.clear()

    async def _run(self, worker: _Worker) -> None:
        while True:
            lane = self._next(worker)
            if lane is None:
                if self._finishing and len(worker.done) == len(worker.lanes):
                    return
                worker.wake.clear()
                await worker.wake.wait()
                continue
            chunk = lane.cut() if lane.has_chunk else lane.cut_remainder()
            if chunk is None or chunk.remainder:
                worker.done.add(lane.source)
            if chunk is None:
                continue
            lane.busy = True
            try:
                self._on_chunk(lane.source, chunk)
                finals = await self._transcribe(worker, lane.source, chunk)
                await self._on_finals(lane.source, finals)
            finally:
                lane.busy = False
            if lane.pull(self._clock()):
                worker.mark_ready(lane)

    def _next(self, worker: _Worker) -> ChunkLane | None:
        """The next lane to serve: the oldest READY one; when finishing, any lane not flushed yet."""
        while worker.ready:
            lane = worker.ready.popleft()
            if lane.has_chunk:
                return lane
        if self._finishing:
            for lane in worker.lanes:
                if lane.source not in worker.done:
                    lane.pull(self._clock())
                    return lane
        return None

    async def _transcribe(self, worker: _Worker, source: str, chunk: Chunk) -> list[Final]:
        started = self._clock()
        rtf = self._min_rtf(source)
        transcriber = worker.transcribers.get(source)
        if transcriber is None:  # opened on the first chunk (a real decoder may take a moment)
            transcriber = worker.transcribers[source] = await self._open()
        finals = await transcriber.transcribe(chunk.pcm, chunk.t0)
        remaining = started + rtf * chunk.seconds - self._clock()
        if remaining > 0:
            await asyncio.sleep(remaining)
        return finals


def _log_failure(task: asyncio.Task[None]) -> None:
    """A recognizer that fails stops transcribing that source (as on the real server); say why."""
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed: %r", task.get_name(), task.exception())
