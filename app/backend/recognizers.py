"""Recognizers: the seams, the two ways of turning audio into finals, and the simulated recognizer.

A ``Recognizer`` is shared by the whole backend: ``load()`` runs once in a thread at startup (the
backend answers /health 503 until it returns). Each source of each connection then gets its own
transcriber; the words come from an ``Engine``, which decodes one utterance at a time.

* Faithful mode (the default): ``open_chunk_transcriber()`` gives a ``ChunkTranscriber``, which
  transcribes one chunk at a time (2 s by default, see ``chunking.py``) as a self-contained piece,
  like the real server's Whisper providers: one final per speech region found in the chunk by the
  energy segmenter, ``t0``/``t1`` = the chunk's start on the processed timeline + the region's
  bounds in it. Silence gives no final; a region is cut where the chunk ends.
* Ideal mode: ``open_stream()`` gives a ``RecognizerStream`` fed 100 ms steps, whose regions run
  across steps (one final per speech region of the continuous stream).

Execution contexts: transcribers run on the event loop; an engine's blocking calls (pocketsphinx is
CPU work) go to the recognizer's executor (a whole chunk per call, fed to the decoder in 20 ms pieces
so the loop gets the GIL back between them). Pacing to a target real-time factor is not done here but
by whoever calls the transcriber (``consumer.py``, ``worker.py``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.backend.segmenter import (
    MIN_REGION_SECONDS,
    SAMPLE_RATE,
    BoundaryKind,
    EnergySegmenter,
    speech_regions,
)

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


class ChunkTranscriber(Protocol):
    async def transcribe(self, pcm: bytes, t0: float) -> list[Final]:
        """The finals of one self-contained chunk that starts ``t0`` seconds into the timeline."""
        ...

    def close(self) -> None: ...


class Recognizer(Protocol):
    provider: str
    model_id: str

    def load(self) -> None:
        """Blocking model load; raises on failure (the message becomes the /health reason)."""
        ...

    async def open_stream(self) -> RecognizerStream: ...

    async def open_chunk_transcriber(self) -> ChunkTranscriber: ...

    def close(self) -> None: ...


def release_after(inflight: concurrent.futures.Future[Any] | None, engine: Engine) -> None:
    """Give ``engine`` back now, or once the call still running in the executor (``inflight``) is done:
    an engine is never handed to another stream while it decodes."""
    if inflight is not None and not inflight.done():
        inflight.add_done_callback(lambda _: engine.release())
    else:
        engine.release()


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
        if not self._closed:
            self._closed = True
            release_after(self._inflight, self._engine)

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


def chunk_regions(pcm: bytes, t0: float = 0.0) -> list[tuple[float, float]]:
    """The ``(t0, t1)`` of the finals a chunk transcriber gives for one chunk starting at ``t0``."""
    regions = speech_regions(np.frombuffer(pcm, dtype=np.int16))
    return [(round(t0 + a / SAMPLE_RATE, 3), round(t0 + b / SAMPLE_RATE, 3)) for a, b in regions]


def simulated_finals(processed: bytes, chunk_bytes: int) -> list[tuple[float, float]]:
    """Re-derive the simulated recognizer's final ``(t0, t1)``s from a lane's processed audio (a
    ``.processed.wav``): it was transcribed in pieces of ``chunk_bytes``, the last one possibly
    shorter (the end-of-stream remainder)."""
    out: list[tuple[float, float]] = []
    for start in range(0, len(processed), chunk_bytes):
        out += chunk_regions(processed[start : start + chunk_bytes], start / (2 * SAMPLE_RATE))
    return out


class EngineChunkTranscriber:
    """``ChunkTranscriber`` from an ``Engine``: each speech region of a chunk is one utterance."""

    def __init__(self, engine: Engine, executor: concurrent.futures.Executor | None = None) -> None:
        self._engine = engine
        self._executor = executor
        self._inflight: concurrent.futures.Future[list[Final]] | None = None
        self._closed = False

    async def transcribe(self, pcm: bytes, t0: float) -> list[Final]:
        if self._executor is None:
            return self._transcribe(pcm, t0)
        self._inflight = self._executor.submit(self._transcribe, pcm, t0)
        return await asyncio.wrap_future(self._inflight)

    def close(self) -> None:
        """Give the engine back, after a chunk still being decoded in the executor is done."""
        if not self._closed:
            self._closed = True
            release_after(self._inflight, self._engine)

    def _transcribe(self, pcm: bytes, t0: float) -> list[Final]:
        finals: list[Final] = []
        samples = np.frombuffer(pcm, dtype=np.int16)
        for start, end in speech_regions(samples):
            self._engine.begin()
            self._engine.feed(pcm[max(0, 2 * start - PREROLL_BYTES) : 2 * end])
            text, confidence = self._engine.end((end - start) / SAMPLE_RATE)
            if text:
                finals.append(Final(text, round(t0 + start / SAMPLE_RATE, 3),
                                    round(t0 + end / SAMPLE_RATE, 3), confidence))
        return finals


class WholeChunkTranscriber:
    """``ChunkTranscriber`` giving one final per chunk, covering all of it, silence too: how the stub
    recognizer the real server was measured with reports (its degrade ladder then sees a final every
    chunk seconds for chunk seconds of audio, about 1.0, in a healthy session; with finals only for
    speech, as real models give, a pause makes the between-finals ratio large)."""

    async def transcribe(self, pcm: bytes, t0: float) -> list[Final]:
        seconds = len(pcm) / (2 * SAMPLE_RATE)
        return [Final(f"[simulated chunk {seconds:.2f} s]", round(t0, 3), round(t0 + seconds, 3),
                      SIMULATED_CONFIDENCE)]

    def close(self) -> None:
        pass


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
    """A recognizer whose speed is only the RTF knob; text is a placeholder per speech region.

    ``load_seconds`` pretends the model takes that long to load; ``load_gate``, if given, holds the
    load until it is set (so a test can observe the loading state for as long as it needs).
    """

    provider = "simulated"
    model_id = "simulated-rtf"

    def __init__(self, load_seconds: float = 0.0, load_gate: threading.Event | None = None, *,
                 whole_chunks: bool = False) -> None:
        self._whole_chunks = whole_chunks
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

    async def open_chunk_transcriber(self) -> ChunkTranscriber:
        if self._whole_chunks:
            return WholeChunkTranscriber()
        return EngineChunkTranscriber(SimulatedEngine())  # numpy over one chunk: well under 1 ms

    def close(self) -> None:
        self._closed.set()
