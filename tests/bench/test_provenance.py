"""The backend's provenance log: each consumed chunk is traced to its bytes in the received stream."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

from app.backend import BackendConfig, ReferenceBackend
from app.backend.recording import (
    ConnectionRecorder,
    ProcessedAudio,
    connection_folders,
    read_provenance,
    read_wav,
)

FRAME = 640


def unique_frames(n: int, seed: int) -> list[bytes]:
    """Loud noise frames: every frame is speech to the segmenter and different from every other."""
    rng = np.random.default_rng(seed)
    return [rng.integers(-4000, 4000, 320, dtype=np.int16).tobytes() for _ in range(n)]


async def stream(url: str, session_id: str, frames: dict[str, list[bytes]]) -> None:
    """One connection: handshake, every frame at once (far faster than the recognizer), stop, summary."""
    async with connect(url, max_size=None) as ws:
        assert json.loads(await ws.recv())["state"] == "connected"
        await ws.send(json.dumps({"type": "start", "session_id": session_id, "attempt_id": "a1",
                                  "connection_id": f"c-{session_id}", "sample_rate": 16000,
                                  "format": "pcm_s16le", "channels": 1, "client_features": {}}))
        assert json.loads(await ws.recv())["state"] == "streaming"
        for k in range(max(len(f) for f in frames.values())):
            for source, byte in (("system", 0), ("mic", 1)):
                if k < len(frames[source]):
                    await ws.send(b"EP\x01" + bytes((byte,)) + frames[source][k])
        await ws.send(json.dumps({"type": "stop", "session_id": session_id}))
        async for message in ws:
            if isinstance(message, str) and json.loads(message).get("type") == "final_summary":
                break


async def test_provenance_ranges_rebuild_the_processed_audio_from_the_received_stream(tmp_path: Path) -> None:
    config = BackendConfig(port=0, recognizer="simulated", rtf=0.5, queue_seconds=0.5, chunk_seconds=0.5,
                           record_dir=tmp_path)
    frames = {"system": unique_frames(150, 1), "mic": unique_frames(100, 2)}
    async with ReferenceBackend(config) as backend:
        await stream(backend.ws_url, "prov-1", frames)
    (folder,) = connection_folders(tmp_path, "prov-1")
    for source, sent in frames.items():
        received = read_wav(folder / f"{source}.wav").tobytes()
        processed = read_wav(folder / f"{source}.processed.wav").tobytes()
        ranges = read_provenance(folder, source)
        assert received == b"".join(sent)
        assert b"".join(received[r.start : r.end] for r in ranges) == processed
        assert all(a.end <= b.start for a, b in itertools.pairwise(ranges))  # in order, disjoint
        assert all(a.t <= b.t for a, b in itertools.pairwise(ranges))
        assert all(r.start % FRAME == 0 and r.end % FRAME == 0 for r in ranges)
        # sent at once into a 0.5 s queue: the backend dropped audio, and the log says exactly which
        covered = sum(r.end - r.start for r in ranges)
        assert 0 < covered < len(received) and ranges[-1].end == len(received)


def test_untagged_chunks_are_recorded_without_provenance(tmp_path: Path) -> None:
    rec = ConnectionRecorder(tmp_path, "s", "c", clock=lambda: 42.0)
    rec.received("mic", bytes(1280))
    rec.processed("mic", bytes(640))  # a plain chunk (e.g. a caller that does not tag): WAV only
    rec.processed("mic", ProcessedAudio(bytes(640), queued_after=0))
    rec.close()
    (folder,) = connection_folders(tmp_path, "s")
    assert [(r.start, r.end, r.t) for r in read_provenance(folder, "mic")] == [(640, 1280, 42.0)]
    assert read_wav(folder / "mic.processed.wav").size == 640
    assert read_provenance(folder, "system") == []
