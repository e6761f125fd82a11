"""The streaming phase of one connection: from the ``start`` ack to ``final_summary`` and close 1000.

Tasks (all on the backend's loop): the receive loop (this coroutine) queues audio and sends load
warnings; one ``SourceWorker`` per source (max 2) feeds the recognizer and sends finals; a metrics
task ticks once a second (which also re-arms the warning flag); two analysis tasks send entities and
cards. After ``stop`` nothing more from the client is used: workers drain their queues, close their
last region, and the summary goes out. Every message after ``start`` carries the correlation ids.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from app.backend import analysis, outbound
from app.backend.inbound import Audio, Fatal, Ignored, classify
from app.backend.queues import MAX_SOURCES, SessionQueues
from app.backend.recognizers import Final
from app.backend.recording import ConnectionRecorder
from app.backend.runtime import BackendRuntime, ModelStatus
from app.backend.worker import SourceWorker
from app.core.messages import StartMessage, StopMessage

log = logging.getLogger(__name__)
CLOSE_NORMAL = 1000


class LiveSession:
    """One started session on one connection. ``run()`` returns when the connection is done."""

    def __init__(self, ws: ServerConnection, runtime: BackendRuntime, start: StartMessage) -> None:
        self._ws = ws
        self._rt = runtime
        self._cfg = runtime.config
        self._start = start
        self._connection_id = start.connection_id or uuid.uuid4().hex
        self._ids = {
            "session_id": start.session_id,
            "attempt_id": start.attempt_id,
            "connection_id": self._connection_id,
        }
        self._queues = SessionQueues(self._cfg.queue_bytes_max, runtime.clock, MAX_SOURCES)
        self._workers: dict[str, SourceWorker] = {}
        self._worker_tasks: list[asyncio.Task[None]] = []
        self._side_tasks: list[asyncio.Task[None]] = []
        self._transcript: list[dict[str, Any]] = []
        self._recorder = ConnectionRecorder(self._cfg.record_dir, start.session_id, self._connection_id)
        self._started_at = runtime.clock()
        self._asr_available = True

    async def run(self) -> None:
        try:
            model = await self._rt.model.wait(self._cfg.model_wait_seconds)
            if model is ModelStatus.LOADING:
                await self._fail_status("The ASR model is still loading, please try again shortly")
                return
            await self._send(outbound.streaming_ack(self._connection_id, asdict(self._start.client_features)))
            self._started_at = self._rt.clock()
            if model is ModelStatus.FAILED:
                self._asr_available = False
                reason = self._rt.model.reason
                await self._send(outbound.status(
                    "no_asr_provider", f"No ASR provider available ({reason}); audio is discarded"))
            else:
                self._spawn_side_tasks()
            if await self._receive():
                await self._finish()
        finally:
            await _cancel_all(self._side_tasks + self._worker_tasks)
            self._recorder.close()

    # ------------------------------------------------------------------ receiving

    async def _receive(self) -> bool:
        """Handle client messages until ``stop`` (True) or the connection ends / must end (False)."""
        async for payload in self._ws:
            item = classify(payload, self._cfg.queue_bytes_max)
            if isinstance(item, Audio):
                await self._on_audio(item)
            elif isinstance(item, StopMessage):
                return True
            elif isinstance(item, StartMessage):
                await self._send(outbound.status("warning", "Ignoring a second start on this connection"))
            elif isinstance(item, Ignored):
                await self._send(outbound.status("warning", item.reason))
            elif isinstance(item, Fatal):
                log.info("connection %s: bad input: %s", self._connection_id, item.message)
                await self._send(outbound.error(item.message))
                self._recorder.close()  # complete on disk before the client sees the close
                await self._ws.close(CLOSE_NORMAL)
                return False
        return False

    async def _on_audio(self, audio: Audio) -> None:
        if not audio.pcm:
            return
        if not self._queues.admit(audio.source):
            await self._send(outbound.status(
                "warning", f"Ignoring audio from a third source {audio.source[:40]!r}: "
                f"at most {MAX_SOURCES} sources per session"))
            return
        self._recorder.received(audio.source, audio.pcm)
        if not self._asr_available:
            return
        worker = self._workers.get(audio.source) or self._new_worker(audio.source)
        warnings = self._queues.put(audio.source, audio.pcm)
        worker.notify()
        for warning in warnings:
            await self._send(outbound.load_warning(warning))

    def _new_worker(self, source: str) -> SourceWorker:
        def processed(pcm: bytes) -> None:
            self._recorder.processed(source, pcm)

        async def final(f: Final) -> None:
            await self._on_final(source, f)

        worker = SourceWorker(
            source,
            self._queues,
            self._rt.recognizer.open_stream,
            min_rtf=lambda: self._cfg.min_rtf_at(self._rt.clock() - self._started_at),
            on_processed=processed,
            on_final=final,
            clock=self._rt.clock,
        )
        self._workers[source] = worker
        task = asyncio.create_task(worker.run(), name=f"asr-{source}")
        task.add_done_callback(_log_failure)
        self._worker_tasks.append(task)
        return worker

    async def _on_final(self, source: str, final: Final) -> None:
        segment_id = f"{self._connection_id[:8]}-{source}-{len(self._transcript) + 1}"
        msg = outbound.asr_final(final.text, final.t0, final.t1, final.confidence, source, segment_id)
        self._transcript.append({k: v for k, v in msg.items() if k != "type"})
        await self._send(msg)

    # ------------------------------------------------------------------ periodic messages

    def _spawn_side_tasks(self) -> None:
        cfg = self._cfg
        self._side_tasks += [
            asyncio.create_task(self._every(cfg.metrics_interval, self._send_metrics), name="metrics"),
            asyncio.create_task(self._every(cfg.entities_interval, self._send_entities), name="entities"),
            asyncio.create_task(self._every(cfg.cards_interval, self._send_cards), name="cards"),
        ]

    @staticmethod
    async def _every(interval: float, action: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(interval)
            await action()

    async def _send_metrics(self) -> None:
        for q in self._queues.tick():
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
                sources_active=len(self._queues.sources),
                timestamp=time.time(),
            ))

    async def _send_entities(self) -> None:
        if self._transcript:
            await self._send(outbound.entities_update(analysis.entities(self._transcript)))

    async def _send_cards(self) -> None:
        if self._transcript:
            await self._send(outbound.cards_update(analysis.cards(self._transcript)))

    # ------------------------------------------------------------------ stop

    async def _finish(self) -> None:
        """Flush every queue through the recognizer, send the summary, close 1000."""
        drain = asyncio.create_task(self._ignore_rest(), name="drain-after-stop")
        self._side_tasks.append(drain)
        for worker in self._workers.values():
            worker.finish()
        if self._worker_tasks:
            _, pending = await asyncio.wait(self._worker_tasks, timeout=self._cfg.flush_timeout)
            if pending:
                await _cancel_all(list(pending))
                await self._send(outbound.status(
                    "warning", f"ASR flush timed out after {self._cfg.flush_timeout:g}s; "
                    "the summary covers what was recognised so far"))
        await _cancel_all([t for t in self._side_tasks if t is not drain])
        markdown, data = analysis.summary(self._start.session_id, self._transcript)
        self._recorder.close()  # complete on disk before the client sees the summary
        await self._send(outbound.final_summary(markdown, data))
        await self._ws.close(CLOSE_NORMAL)

    async def _ignore_rest(self) -> None:
        """Keep reading after ``stop`` (and drop it) so the client's close is still noticed."""
        async for _ in self._ws:
            pass

    # ------------------------------------------------------------------ sending

    async def _send(self, body: dict[str, Any]) -> None:
        await self._ws.send(json.dumps({**body, **self._ids}))

    async def _fail_status(self, message: str) -> None:
        await self._send(outbound.status("error", message))
        await self._ws.close(CLOSE_NORMAL)


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel and reap tasks; their exceptions (typically a closed connection) end with them."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _log_failure(task: asyncio.Task[None]) -> None:
    """Done-callback: a task that died of anything but cancellation or a closed socket is a bug."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, ConnectionClosed):
        log.error("%s failed: %r", task.get_name(), exc)
