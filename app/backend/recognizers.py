"""Recognizers: the seam (``Recognizer``/``RecognizerStream``), the segmenting stream, the simulated one.

A ``Recognizer`` is shared by the whole backend: ``load()`` runs once in a thread at startup (the
backend answers /health 503 until it returns), ``open_stream()`` gives each source of each connection
its own ``RecognizerStream``. A stream turns processed audio into finals, one per speech region found
by ``EnergySegmenter``; the words come from an ``Engine``, which decodes one utterance at a time.

Execution contexts: streams run on the event loop; an engine's blocking calls (pocketsphinx is CPU
work) go to the recognizer's executor, in small pieces so the loop is never stalled for long.
Pacing to a target real-time factor is not done here but by the worker that pulls from the queue.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.backend.segmenter import MIN_REGION_SECONDS, SAMPLE_RATE, BoundaryKind, EnergySegmenter

PREROLL_BYTES = 9_600  # 0.3 s of audio before a region starts, so the engine hears its onset
SIMULATED_CONFIDENCE = 0.9


@dataclass(frozen=True, slots=True)
class Final:
    """A finished segment: ``t0``/``t1`` in seconds of processed audio on this stream."""

    text: str
    t0: float
    t1: float
    confidence: float


class Engine(Protocol):
    """Decodes one utterance at a time. Methods may block; the stream decides where they run."""

    def begin(self) -> None: ...

    def feed(self, pcm: bytes) -> None: ...

    def end(self, duration_seconds: float) -> tuple[str, float]:
        """Close the utterance; return ``(text, confidence)`` ("" when nothing was recognised)."""
        ...

    def release(self) -> None: ...


class RecognizerStream(Protocol):
    async def process(self, pcm: bytes) -> list[Final]: ...

    async def finish(self) -> list[Final]:
        """End of input: close the open region, return its final if any."""
        ...

    def close(self) -> None: ...


class Recognizer(Protocol):
    provider: str
    model_id: str

    def load(self) -> None:
        """Blocking model load; raises on failure (the message becomes the /health reason)."""
        ...

    async def open_stream(self) -> RecognizerStream: ...

    def close(self) -> None: ...


class SegmentingStream:
    """``EnergySegmenter`` + ``Engine``: feeds the engine each region (with pre-roll), emits its final."""

    def __init__(self, engine: Engine, executor: concurrent.futures.Executor | None = None) -> None:
        self._engine = engine
        self._executor = executor
        self._segmenter = EnergySegmenter()
        self._preroll = b""
        self._t0: float | None = None  # start of the open utterance, seconds
        self._inflight: concurrent.futures.Future[Any] | None = None
        self._closed = False

    async def process(self, pcm: bytes) -> list[Final]:
        finals: list[Final] = []
        fed = False
        for boundary in self._segmenter.push(np.frombuffer(pcm, dtype=np.int16)):
            if boundary.kind is BoundaryKind.START:
                if self._t0 is None:
                    self._t0 = boundary.sample / SAMPLE_RATE
                    await self._run(self._engine.begin)
                    await self._run(self._engine.feed, self._preroll + pcm)
                    fed = True
            elif self._t0 is not None:
                if not fed:
                    await self._run(self._engine.feed, pcm)
                    fed = True
                final = await self._end(boundary.sample / SAMPLE_RATE)
                if final is not None:
                    finals.append(final)
        if self._t0 is not None and not fed:
            await self._run(self._engine.feed, pcm)
        self._preroll = (self._preroll + pcm)[-PREROLL_BYTES:]
        return finals

    async def finish(self) -> list[Final]:
        finals: list[Final] = []
        for boundary in self._segmenter.flush():
            if boundary.kind is BoundaryKind.END and self._t0 is not None:
                final = await self._end(boundary.sample / SAMPLE_RATE)
                if final is not None:
                    finals.append(final)
        return finals

    def close(self) -> None:
        """Give the engine back, after any engine call still running in the executor finishes."""
        if self._closed:
            return
        self._closed = True
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            inflight.add_done_callback(lambda _: self._engine.release())
        else:
            self._engine.release()

    async def _end(self, t1: float) -> Final | None:
        t0, self._t0 = self._t0 or 0.0, None
        text, confidence = await self._run(self._engine.end, t1 - t0)
        if not text or t1 - t0 < MIN_REGION_SECONDS:
            return None
        return Final(text, round(t0, 3), round(t1, 3), confidence)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._executor is None:
            return fn(*args)
        self._inflight = self._executor.submit(fn, *args)
        return await asyncio.wrap_future(self._inflight)


class SimulatedEngine:
    """No decoding at all: a clearly marked placeholder per region (its cost is the worker's pacing)."""

    def begin(self) -> None:
        pass

    def feed(self, pcm: bytes) -> None:
        pass

    def end(self, duration_seconds: float) -> tuple[str, float]:
        return f"[simulated speech {duration_seconds:.2f} s]", SIMULATED_CONFIDENCE

    def release(self) -> None:
        pass


class SimulatedRecognizer:
    """A recognizer whose speed is only the worker's RTF knob; text is a placeholder per speech region.

    ``load_seconds`` pretends the model takes that long to load; ``load_gate``, if given, holds the
    load until it is set (so a test can observe the loading state for as long as it needs).
    """

    provider = "simulated"
    model_id = "simulated-rtf"

    def __init__(self, load_seconds: float = 0.0, load_gate: threading.Event | None = None) -> None:
        self._load_seconds = load_seconds
        self._load_gate = load_gate
        self._closed = threading.Event()

    def load(self) -> None:
        if self._load_seconds > 0 and self._closed.wait(self._load_seconds):
            raise RuntimeError("backend stopped while loading")
        if self._load_gate is not None:
            while not self._load_gate.wait(0.05):
                if self._closed.is_set():
                    raise RuntimeError("backend stopped while loading")

    async def open_stream(self) -> RecognizerStream:
        return SegmentingStream(SimulatedEngine())

    def close(self) -> None:
        self._closed.set()
