"""Ideal mode's per-source recognizer worker: pulls from its queue only as fast as the recognizer runs.

(The default, faithful mode consumes in whole chunks instead: ``consumer.py``.)

One asyncio task per source. Each step takes up to ``PULL_BYTES`` of queued items, records them as
processed, runs them through the recognizer stream, then waits until the step has lasted at least
``min_rtf`` x the audio's duration: that wait IS the simulated recognizer's cost, and a floor for
pocketsphinx during scheduled overload episodes. A recognizer slower than real time thus fills the
queue and the queue drops the oldest audio (queues.py).

``on_processed`` receives each step's audio with the ``(start, end, taken)`` spans of the received
stream it came from and when it was taken from the queue (provenance).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.backend.queues import BYTES_PER_SECOND, SessionQueues
from app.backend.recognizers import Final, RecognizerStream

PULL_BYTES = 3_200  # 100 ms per step
STATS_WINDOW_SECONDS = 10.0
STATS_MAX_STEPS = 2_000  # bounds the window even for tiny chunks


@dataclass(frozen=True, slots=True)
class WorkerStats:
    avg_infer_ms: float  # mean wall time per step over the last 10 s
    compute_rtf: float  # step time / audio time over the last 10 s (the provider's own RTF)
    realtime_factor: float  # wall time between the last two transcripts / audio between them


class RtfMeter:
    """Rolling step timings and the between-transcripts RTF. Clock injected."""

    def __init__(self, clock: Callable[[], float], started: float) -> None:
        self._clock = clock
        self._steps: deque[tuple[float, float, float]] = deque(maxlen=STATS_MAX_STEPS)
        self._last_final_at = started
        self._last_final_t1 = 0.0
        self._between_finals = 0.0

    def step(self, infer_seconds: float, audio_seconds: float) -> None:
        self._steps.append((self._clock(), infer_seconds, audio_seconds))

    def final(self, t1: float) -> None:
        now = self._clock()
        audio = t1 - self._last_final_t1
        if audio > 0:
            self._between_finals = (now - self._last_final_at) / audio
        self._last_final_at, self._last_final_t1 = now, t1

    def stats(self) -> WorkerStats:
        horizon = self._clock() - STATS_WINDOW_SECONDS
        while self._steps and self._steps[0][0] < horizon:
            self._steps.popleft()
        infer = sum(s[1] for s in self._steps)
        audio = sum(s[2] for s in self._steps)
        count = len(self._steps)
        return WorkerStats(
            avg_infer_ms=1000 * infer / count if count else 0.0,
            compute_rtf=infer / audio if audio else 0.0,
            realtime_factor=self._between_finals,
        )


class SourceWorker:
    """Drains one source's queue through a recognizer stream until ``finish()``ed and empty."""

    def __init__(
        self,
        source: str,
        queues: SessionQueues,
        open_stream: Callable[[], Awaitable[RecognizerStream]],
        *,
        min_rtf: Callable[[], float],
        on_processed: Callable[[bytes, list[tuple[int, int, float]]], None],
        on_final: Callable[[Final], Awaitable[None]],
        clock: Callable[[], float],
    ) -> None:
        self.source = source
        self._queues = queues
        self._open_stream = open_stream
        self._min_rtf = min_rtf
        self._on_processed = on_processed
        self._on_final = on_final
        self._clock = clock
        self._wake = asyncio.Event()
        self._finishing = False
        self.meter = RtfMeter(clock, clock())

    def notify(self) -> None:
        """New audio was queued."""
        self._wake.set()

    def finish(self) -> None:
        """No more audio will come: process what is queued, close the last region, then return."""
        self._finishing = True
        self._wake.set()

    async def run(self) -> None:
        stream = await self._open_stream()  # may take a while (a new decoder): audio queues meanwhile
        try:
            while True:
                items = self._queues.take(self.source, PULL_BYTES)
                if not items:
                    if self._finishing:
                        break
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                await self._step(stream, items)
            for final in await stream.finish():
                await self._emit(final)
        finally:
            stream.close()

    async def _step(self, stream: RecognizerStream, items: list[tuple[int, bytes]]) -> None:
        pcm = b"".join(item for _, item in items)
        now = self._clock()
        spans: list[tuple[int, int, float]] = []
        for offset, item in items:
            if spans and spans[-1][1] == offset:
                spans[-1] = (spans[-1][0], offset + len(item), now)
            else:
                spans.append((offset, offset + len(item), now))
        self._on_processed(pcm, spans)
        audio_seconds = len(pcm) / BYTES_PER_SECOND
        started = self._clock()
        finals = await stream.process(pcm)
        remaining = started + self._min_rtf() * audio_seconds - self._clock()
        if remaining > 0:
            await asyncio.sleep(remaining)
        self.meter.step(self._clock() - started, audio_seconds)
        for final in finals:
            await self._emit(final)

    async def _emit(self, final: Final) -> None:
        self.meter.final(final.t1)
        await self._on_final(final)
