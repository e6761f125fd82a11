"""The pocketsphinx recognizer: real words from the US English model the pocketsphinx package ships.

Execution: ``Decoder.process_raw`` holds the GIL for the whole call, so audio goes in 20 ms pieces
from a worker thread (a whole chunk per executor call in faithful mode), with a short sleep between
pieces: without it the event loop thread, which gives the GIL up at every socket wait, queues for it
behind the decoder at each wake-up (the convoy effect: measured stalls of 0.1-0.5 s while a 2 s chunk
was decoded); with it, it waits at most one piece (~2 ms, at worst 30 ms).
The second search pass (fwdflat/bestpath) is off because ``end_utt`` would otherwise hold the GIL for
a fraction of the utterance length; the first pass alone recognises clear speech well.

Cepstral mean: a fresh decoder's initial mean is far from real audio, which garbles its first
utterance. So a cold decoder first buffers up to 3 s of the region, decodes it once to update the
mean, then decodes it again for real (a one-off cost per decoder). Decoders are pooled: they load
in ~0.5 s each and carry their (now warm) mean to the next stream.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Any

from app.backend.recognizers import (
    ChunkTranscriber,
    EngineChunkTranscriber,
    RecognizerStream,
    SegmentingStream,
)

PIECE_BYTES = 640  # 20 ms per process_raw call: bounds how long one call holds the GIL
GIL_BREATHER_SECONDS = 0.0005  # between pieces the GIL is free, so the event loop never queues for it
WARMUP_BYTES = 96_000  # 3 s of audio to estimate a cold decoder's cepstral mean from
POOL_PRELOAD = 2  # one session with two sources needs no wait
POOL_KEEP = 4  # idle decoders kept; more are dropped to bound memory
NOMINAL_CONFIDENCE = 0.8  # the first pass gives no usable posterior; say so instead of inventing one


class _Slot:
    """A decoder and whether its cepstral mean has been estimated from real audio yet."""

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.warm = False


class PocketsphinxEngine:
    """One utterance at a time on a pooled decoder. Every method blocks; run them off the loop."""

    def __init__(self, slot: _Slot, give_back: Any) -> None:
        self._slot = slot
        self._give_back = give_back
        self._pending = bytearray()  # region audio held back while the decoder is cold
        self._in_utt = False

    def begin(self) -> None:
        if self._slot.warm:
            self._slot.decoder.start_utt()
            self._in_utt = True
        else:
            self._pending.clear()

    def feed(self, pcm: bytes) -> None:
        if self._slot.warm:
            self._decode(pcm)
            return
        self._pending += pcm
        if len(self._pending) >= WARMUP_BYTES:
            self._warm_up()

    def end(self, duration_seconds: float) -> tuple[str, float]:
        if not self._slot.warm:
            self._warm_up()
        decoder = self._slot.decoder
        if not self._in_utt:
            return "", 0.0
        decoder.end_utt()
        self._in_utt = False
        hyp = decoder.hyp()
        text = hyp.hypstr.strip() if hyp is not None else ""
        return text, NOMINAL_CONFIDENCE

    def release(self) -> None:
        if self._in_utt:
            self._slot.decoder.end_utt()
            self._in_utt = False
        self._give_back(self._slot)

    def _warm_up(self) -> None:
        """Estimate the cepstral mean from the held-back audio, then decode that audio for real.

        The estimate comes from a throw-away decoding pass: pocketsphinx updates its live mean at
        ``end_utt``. (A ``no_search`` pass would be cheaper but defers the whole search to
        ``end_utt``, one long GIL-holding call.)
        """
        decoder, audio = self._slot.decoder, bytes(self._pending)
        self._pending.clear()
        if not audio:
            return
        decoder.start_utt()
        self._decode(audio)
        decoder.end_utt()
        self._slot.warm = True
        decoder.start_utt()
        self._in_utt = True
        self._decode(audio)

    def _decode(self, pcm: bytes) -> None:
        decoder = self._slot.decoder
        for i in range(0, len(pcm), PIECE_BYTES):
            decoder.process_raw(pcm[i : i + PIECE_BYTES], False, False)
            time.sleep(GIL_BREATHER_SECONDS)


class PocketsphinxRecognizer:
    """``Recognizer`` backed by a pool of pocketsphinx decoders and a two-thread executor."""

    provider = "pocketsphinx"
    model_id = "en-us"

    def __init__(self) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="pocketsphinx")
        self._free: list[_Slot] = []
        self._lock = threading.Lock()  # the pool is returned to from executor threads

    def load(self) -> None:
        slots = [self._new_slot() for _ in range(POOL_PRELOAD)]
        with self._lock:
            self._free.extend(slots)

    async def open_stream(self) -> RecognizerStream:
        return SegmentingStream(await self._engine(), self._executor)

    async def open_chunk_transcriber(self) -> ChunkTranscriber:
        return EngineChunkTranscriber(await self._engine(), self._executor)

    async def _engine(self) -> PocketsphinxEngine:
        with self._lock:
            slot = self._free.pop() if self._free else None
        if slot is None:
            slot = await asyncio.get_running_loop().run_in_executor(self._executor, self._new_slot)
        return PocketsphinxEngine(slot, self._give_back)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._free.clear()

    def _give_back(self, slot: _Slot) -> None:
        with self._lock:
            if len(self._free) < POOL_KEEP:
                self._free.append(slot)

    @staticmethod
    def _new_slot() -> _Slot:
        from pocketsphinx import Decoder  # imported here: only this recognizer needs the C extension

        return _Slot(Decoder(loglevel="FATAL", fwdflat=False, bestpath=False))
