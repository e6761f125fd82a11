"""Faithful mode's audio path for one session: what the real EchoPanel server does (CONTRACT.md 5, 10).

Received audio is recorded (lossless), queued per source (``queues.py``: drop oldest, ``backpressure``
on a drop when the session-wide flag is clear) and consumed a chunk at a time (``consumer.py``). Each
chunk's finals go out as they are produced, on the processed timeline. Every final also feeds the
source's between-finals meter (``rtf.py``); every 5th one checks the session's degrade ladder
(``ladder.py``) and a move is announced with a status right after that final.

``tick()`` is the once-a-second metrics pass: per source in order of first audio, the queue warning due
(if any) and then that source's ``metrics``, with the real server's fields and extra keys.

Without a recognizer (the model failed to load) the socket stays open: each source's first audio gets
one ``no_asr_provider`` status and its audio is discarded; metrics still flow, without ladder fields.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from websockets.exceptions import ConnectionClosed

from app.backend import outbound
from app.backend.chunking import Chunk, chunk_bytes_for
from app.backend.consumer import ChunkConsumer
from app.backend.ladder import DegradeLadder
from app.backend.queues import MAX_SOURCES, SessionQueues
from app.backend.recognizers import Final
from app.backend.recording import ConnectionRecorder
from app.backend.rtf import ClockSpread, FinalsMeter
from app.backend.runtime import BackendRuntime

Send = Callable[[dict[str, Any]], Awaitable[None]]


class FaithfulPipeline:
    """One session's queues, recognizer lanes, meters and ladder (module docstring)."""

    def __init__(self, runtime: BackendRuntime, *, send: Send, recorder: ConnectionRecorder,
                 transcript: Callable[[str, Final], dict[str, Any]],
                 client_features: Mapping[str, Any],
                 asr_available: bool, no_asr_reason: str = "") -> None:
        self._rt = runtime
        self._cfg = cfg = runtime.config
        self._send = send
        self._recorder = recorder
        self._transcript = transcript  # stores a final, returns its asr_final message
        self._client_features = dict(client_features)
        self._asr = asr_available
        self._no_asr_reason = no_asr_reason
        self._started_at = runtime.clock()
        self.ladder = DegradeLadder(runtime.clock)  # created just before the ack, as on the real server
        self.queues = SessionQueues(cfg.queue_bytes_max, runtime.clock, MAX_SOURCES, faithful=True)
        self._meters: dict[str, FinalsMeter] = {}
        self.spread = ClockSpread()
        self._consumer = ChunkConsumer(
            self.queues, runtime.recognizer.open_chunk_transcriber,
            chunk_bytes=chunk_bytes_for(cfg.chunk_seconds), shared=cfg.shared_recognizer,
            min_rtf=self._min_rtf, on_chunk=self._record_chunk, on_finals=self._finals,
            clock=runtime.clock,
        )

    def streaming(self) -> None:
        """The ack went out: session time (for ``--schedule``) starts now."""
        self._started_at = self._rt.clock()

    async def audio(self, source: str, pcm: bytes) -> None:
        if not pcm:
            return
        first = source not in self.queues.sources
        if not self.queues.admit(source):
            await self._send(outbound.status(
                "warning", f"Ignoring audio from a third source {source[:40]!r}: "
                f"at most {MAX_SOURCES} sources per session"))
            return
        self._recorder.received(source, pcm)
        if first:
            self._meters[source] = FinalsMeter(self._rt.clock)
            if self._asr:
                self._consumer.add_source(source)
            else:
                await self._send(outbound.no_asr_provider(self._no_asr_reason))
        warnings = self.queues.put(source, pcm)
        if self._asr:
            self._consumer.queued(source)
        else:
            self.queues.queue(source).clear()  # nothing transcribes: the audio is discarded
        for warning in warnings:
            await self._send(outbound.faithful_load_warning(warning))

    async def tick(self) -> None:
        """The metrics pass: per source, its queue warning (if due) then its metrics."""
        rec = self._rt.recognizer
        sources = self.queues.sources
        for q in self.queues.tick():
            if q.warning is not None:
                await self._send(outbound.faithful_load_warning(q.warning))
            meter = self._meters[q.source]
            load = outbound.SourceLoad(
                avg_gap_ms=meter.avg_gap_ms,
                realtime_factor=meter.realtime_factor,
                ladder_level=self.ladder.level if self._asr else None,
                rtf_avg_10s=self.ladder.rtf_avg(10.0),
            )
            await self._send(outbound.faithful_metrics(
                q, load, max_backlog_seconds=self._cfg.queue_seconds, provider=rec.provider,
                model_id=rec.model_id, client_features=self._client_features,
                clock_spread_ms=(self.spread.spread_ms, self.spread.max_spread_ms),
                sources_active=sources, timestamp=time.time(),
            ))

    async def finish(self) -> bool:
        """Flush the recognizer (bounded by ``flush_timeout``); False if it ran out of time."""
        self._consumer.finish()
        return await self._consumer.wait(self._cfg.flush_timeout)

    async def close(self) -> None:
        await self._consumer.close()

    def _min_rtf(self, source: str) -> float:
        return self._cfg.min_rtf_at(self._cfg.schedule_seconds(self._rt.clock() - self._started_at), source)

    def _record_chunk(self, source: str, chunk: Chunk) -> None:
        self._recorder.processed_spans(source, chunk.pcm, chunk.spans, cut=self._rt.clock())

    async def _finals(self, source: str, finals: list[Final]) -> None:
        try:
            for final in finals:
                await self._final(source, final)
        except ConnectionClosed:
            pass  # the client went away; the session is ending and will cancel the recognizer

    async def _final(self, source: str, final: Final) -> None:
        msg = self._transcript(source, final)
        self.spread.final(source, final.t1)
        sample = self._meters[source].final(final.t0, final.t1)
        move = self.ladder.check(sample) if sample is not None else None
        await self._send(msg)
        if move is not None:
            await self._send(outbound.ladder_status(move.new, move.action))
