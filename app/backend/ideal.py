"""Ideal mode's audio path for one session: the earlier, idealised backend (``--fidelity ideal``).

Not what the real server does (``faithful.py`` is): the recognizer pulls 100 ms at a time
(``worker.py``), so queues fill smoothly and finals follow speech regions across the whole stream;
``buffering``/``overloaded`` come from puts, ``backpressure`` carries the dropped total in seconds;
no degrade ladder (``degrade_level`` in metrics is derived from the recent compute RTF, lower-case).
It exists for tests that need that idealised consumption, and each such test says why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.exceptions import ConnectionClosed

from app.backend import outbound
from app.backend.queues import MAX_SOURCES, SessionQueues
from app.backend.recognizers import Final
from app.backend.recording import ConnectionRecorder
from app.backend.runtime import BackendRuntime
from app.backend.worker import SourceWorker

log = logging.getLogger(__name__)
Send = Callable[[dict[str, Any]], Awaitable[None]]


class IdealPipeline:
    """One session's queues and per-source workers, ideal mode (module docstring)."""

    def __init__(self, runtime: BackendRuntime, *, send: Send, recorder: ConnectionRecorder,
                 transcript: Callable[[str, Final], dict[str, Any]], asr_available: bool) -> None:
        self._rt = runtime
        self._cfg = runtime.config
        self._send = send
        self._recorder = recorder
        self._transcript = transcript
        self._asr = asr_available
        self._started_at = runtime.clock()
        self.queues = SessionQueues(self._cfg.queue_bytes_max, runtime.clock, MAX_SOURCES, faithful=False)
        self._workers: dict[str, SourceWorker] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def streaming(self) -> None:
        self._started_at = self._rt.clock()

    async def audio(self, source: str, pcm: bytes) -> None:
        if not pcm:
            return
        if not self.queues.admit(source):
            await self._send(outbound.status(
                "warning", f"Ignoring audio from a third source {source[:40]!r}: "
                f"at most {MAX_SOURCES} sources per session"))
            return
        self._recorder.received(source, pcm)
        if not self._asr:
            return
        worker = self._workers.get(source) or self._new_worker(source)
        warnings = self.queues.put(source, pcm)
        worker.notify()
        for warning in warnings:
            await self._send(outbound.load_warning(warning))

    async def tick(self) -> None:
        for q in self.queues.tick():
            stats = self._workers[q.source].meter.stats()
            await self._send(outbound.metrics(
                q,
                max_backlog_seconds=self._cfg.queue_seconds,
                avg_infer_ms=stats.avg_infer_ms,
                realtime_factor=stats.realtime_factor,
                provider=self._rt.recognizer.provider,
                model_id=self._rt.recognizer.model_id,
                compute_rtf=stats.compute_rtf,
                rtf_avg_10s=stats.compute_rtf,
                sources_active=len(self.queues.sources),
                timestamp=time.time(),
            ))

    async def finish(self) -> bool:
        for worker in self._workers.values():
            worker.finish()
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(self._tasks, timeout=self._cfg.flush_timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return not pending

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _new_worker(self, source: str) -> SourceWorker:
        def processed(pcm: bytes, spans: list[tuple[int, int, float]]) -> None:
            self._recorder.processed_spans(source, pcm, spans)

        async def final(f: Final) -> None:
            await self._send(self._transcript(source, f))

        worker = SourceWorker(
            source,
            self.queues,
            self._rt.recognizer.open_stream,
            min_rtf=lambda: self._cfg.min_rtf_at(
                self._cfg.schedule_seconds(self._rt.clock() - self._started_at), source),
            on_processed=processed,
            on_final=final,
            clock=self._rt.clock,
        )
        self._workers[source] = worker
        task = asyncio.create_task(worker.run(), name=f"asr-{source}")
        task.add_done_callback(_log_failure)
        self._tasks.append(task)
        return worker


def _log_failure(task: asyncio.Task[None]) -> None:
    """Done-callback: a task that died of anything but cancellation or a closed socket is a bug."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, ConnectionClosed):
        log.error("%s failed: %r", task.get_name(), exc)
