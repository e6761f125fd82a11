"""The streaming phase of one connection: from the ``start`` ack to ``final_summary`` and close 1000.

Tasks (all on the backend's loop): the receive loop (this coroutine) hands audio to the session's
pipeline (``faithful.py`` by default, ``ideal.py`` with ``fidelity="ideal"``), which queues it, runs
the recognizer and sends finals and load warnings; a metrics task ticks once a second (the pipeline's
``tick``: warnings due and metrics); an analysis task sends entities and cards. After ``stop`` nothing
more from the client is used: the pipeline flushes (bounded by ``flush_timeout``; a ``warning`` if it
runs out), metrics keep flowing meanwhile, then the summary goes out and the socket closes with 1000.
Every message after ``start`` carries the correlation ids.

Analysis cadence, faithful: 12 s after the ack ``entities_update`` (only if there are new finals since
the last one, else try again 12 s later), then 28 s later ``cards_update`` (same rule), and again.
Ideal: entities every 12 s and cards every 40 s, independently, whenever there is a transcript.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from websockets.asyncio.server import ServerConnection

from app.backend import analysis, outbound
from app.backend.faithful import FaithfulPipeline
from app.backend.ideal import IdealPipeline
from app.backend.inbound import Audio, Fatal, Ignored, classify
from app.backend.recognizers import Final
from app.backend.recording import ConnectionRecorder
from app.backend.runtime import BackendRuntime, ModelStatus
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
        self._side_tasks: list[asyncio.Task[None]] = []
        self._transcript: list[dict[str, Any]] = []
        self._recorder = ConnectionRecorder(self._cfg.record_dir, start.session_id, self._connection_id)
        self._pipeline: FaithfulPipeline | IdealPipeline | None = None

    async def run(self) -> None:
        try:
            model = await self._rt.model.wait(self._cfg.model_wait_seconds)
            if model is ModelStatus.LOADING:
                await self._fail_status("The ASR model is still loading, please try again shortly")
                return
            asr = model is ModelStatus.READY
            pipeline = self._pipeline = self._new_pipeline(asr)
            await self._send(outbound.streaming_ack(self._connection_id, self._features()))
            pipeline.streaming()
            if self._cfg.faithful or asr:
                self._spawn_side_tasks()
            else:  # ideal mode says it at once; faithful mode at each source's first audio
                await self._send(outbound.no_asr_provider(self._rt.model.reason))
            if await self._receive(pipeline):
                await self._finish(pipeline)
        finally:
            await _cancel_all(self._side_tasks)
            if self._pipeline is not None:
                await self._pipeline.close()
            self._recorder.close()

    def _new_pipeline(self, asr: bool) -> FaithfulPipeline | IdealPipeline:
        if self._cfg.faithful:
            return FaithfulPipeline(
                self._rt, send=self._send, recorder=self._recorder, transcript=self._add_final,
                client_features=self._features(), asr_available=asr, no_asr_reason=self._rt.model.reason,
            )
        return IdealPipeline(self._rt, send=self._send, recorder=self._recorder,
                             transcript=self._add_final, asr_available=asr)

    def _features(self) -> dict[str, Any]:
        return asdict(self._start.client_features)

    # ------------------------------------------------------------------ receiving

    async def _receive(self, pipeline: FaithfulPipeline | IdealPipeline) -> bool:
        """Handle client messages until ``stop`` (True) or the connection ends / must end (False)."""
        async for payload in self._ws:
            item = classify(payload, self._cfg.queue_bytes_max)
            if isinstance(item, Audio):
                await pipeline.audio(item.source, item.pcm)
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

    def _add_final(self, source: str, final: Final) -> dict[str, Any]:
        """Keep a final for the summary and analysis; return its ``asr_final`` message."""
        segment_id = f"{self._connection_id[:8]}-{source}-{len(self._transcript) + 1}"
        msg = outbound.asr_final(final.text, final.t0, final.t1, final.confidence, source, segment_id)
        self._transcript.append({k: v for k, v in msg.items() if k != "type"})
        return msg

    # ------------------------------------------------------------------ periodic messages

    def _spawn_side_tasks(self) -> None:
        cfg, pipeline = self._cfg, self._pipeline
        assert pipeline is not None
        self._side_tasks.append(
            asyncio.create_task(self._every(cfg.metrics_interval, pipeline.tick), name="metrics"))
        if cfg.faithful:
            self._side_tasks.append(asyncio.create_task(self._analysis(), name="analysis"))
        else:
            self._side_tasks += [
                asyncio.create_task(self._every(cfg.entities_interval, self._send_entities), name="entities"),
                asyncio.create_task(self._every(cfg.cards_interval, self._send_cards), name="cards"),
            ]

    @staticmethod
    async def _every(interval: float, action: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(interval)
            await action()

    async def _analysis(self) -> None:
        """Faithful cadence: entities, then cards ``cards_interval - entities_interval`` later."""
        cfg = self._cfg
        entities_upto = cards_upto = 0.0
        while True:
            await asyncio.sleep(cfg.entities_interval)
            if self._latest_t1() <= entities_upto:
                continue
            entities_upto = self._latest_t1()
            await self._send_entities()
            await asyncio.sleep(max(cfg.cards_interval - cfg.entities_interval, 0.0))
            if self._latest_t1() <= cards_upto:
                continue
            cards_upto = self._latest_t1()
            await self._send_cards()

    def _latest_t1(self) -> float:
        return max((float(s.get("t1", 0.0)) for s in self._transcript), default=0.0)

    async def _send_entities(self) -> None:
        if self._transcript:
            await self._send(outbound.entities_update(analysis.entities(self._transcript)))

    async def _send_cards(self) -> None:
        if self._transcript:
            await self._send(outbound.cards_update(analysis.cards(self._transcript)))

    # ------------------------------------------------------------------ stop

    async def _finish(self, pipeline: FaithfulPipeline | IdealPipeline) -> None:
        """Flush the recognizer, send the summary, close 1000."""
        drain = asyncio.create_task(self._ignore_rest(), name="drain-after-stop")
        self._side_tasks.append(drain)
        if not await pipeline.finish():
            await self._send(outbound.status(
                "warning", f"ASR flush timed out after {self._cfg.flush_timeout:g}s; "
                "the summary covers what was recognised so far"))
        await _cancel_all([t for t in self._side_tasks if t is not drain])
        transcript = self._transcript
        if self._cfg.faithful:  # the real server orders the summary's transcript by t0
            transcript = sorted(transcript, key=lambda s: float(s.get("t0", 0.0)))
        markdown, data = analysis.summary(self._start.session_id, transcript)
        if isinstance(pipeline, FaithfulPipeline):
            data["client_features"] = self._features()
            data["clock_spread_ms"] = {"last": round(pipeline.spread.spread_ms, 1),
                                       "max": round(pipeline.spread.max_spread_ms, 1)}
            data["recordings"] = self._recorder.received_paths()
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
