"""Chunked consumption end to end over loopback: the shared-recognizer option, the end-of-stream
remainder rule, and provenance of what the recognizer consumed (``--record-dir``)."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

import numpy as np
from backend_wsclient import LiveClient, tone
from fidelity_drive import drive

from app.backend.recording import connection_folders, read_provenance, read_wav

AUDIO = {"system": tone(1.0, 440.0), "mic": tone(1.0, 660.0)}


async def test_a_shared_recognizer_takes_one_chunk_at_a_time_in_the_order_they_became_ready(
    make_backend,
) -> None:
    """Both sources' 0.5 s chunks become ready together (system's first: its frame of each pair is
    sent first). One recognizer at RTF 0.4 takes 0.2 s per chunk: system then mic, 0.2 s apart.
    With a recognizer per source (the default, as the real server) both come out together."""
    shared = await make_backend(chunk_seconds=0.5, rtf=0.4, shared_recognizer=True)
    separate = await make_backend(chunk_seconds=0.5, rtf=0.4)
    runs = await asyncio.gather(drive(shared.ws_url, 3.0, AUDIO), drive(separate.ws_url, 3.0, AUDIO))
    for run, apart in zip(runs, ((0.15, 0.3), (0.0, 0.08)), strict=True):
        finals = [(t, m["source"], m["t0"]) for t, m in run.messages if m.get("type") == "asr_final"]
        by_chunk = {t0: {s: t for t, s, c in finals if c == t0} for _, _, t0 in finals}
        full = [times for t0, times in sorted(by_chunk.items()) if len(times) == 2 and t0 < 2.5]
        assert len(full) == 5, finals
        gaps = [times["mic"] - times["system"] for times in full]
        assert all(apart[0] <= g <= apart[1] for g in gaps), gaps
    shared_order = [m["source"] for _, m in runs[0].messages if m.get("type") == "asr_final"][:10]
    assert shared_order == ["system", "mic"] * 5


async def test_a_remainder_of_half_a_second_is_transcribed_and_a_shorter_one_discarded(
    make_backend, tmp_path: Path
) -> None:
    backend = await make_backend(record_dir=tmp_path)
    spans = {}
    for seconds in (2.6, 2.4):
        client = await LiveClient.open(backend.ws_url)
        await client.start()
        await client.send_audio(tone(seconds))
        summary = await client.stop()
        spans[seconds] = [(s["t0"], s["t1"]) for s in summary["json"]["transcript"]]
        [folder] = connection_folders(tmp_path, client.session_id)
        processed = read_wav(folder / "system.processed.wav").size / 16_000
        assert processed == (2.6 if seconds == 2.6 else 2.0)
    assert spans == {2.6: [(0.0, 2.0), (2.0, 2.6)], 2.4: [(0.0, 2.0)]}


async def test_provenance_traces_every_chunk_through_the_drops(make_backend, tmp_path: Path) -> None:
    """Sent far faster than the recognizer (RTF 0.5) takes it: drops between and inside chunks; the
    log's ranges of the received stream still rebuild exactly the audio that was transcribed, with
    when each piece left the queue (``t``) and when its chunk was started (``cut``)."""
    backend = await make_backend(rtf=0.5, record_dir=tmp_path)
    rng = np.random.default_rng(4)
    pcm = rng.integers(-4000, 4000, 16_000 * 8, dtype=np.int16).tobytes()  # unique frames, all speech
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(pcm, speed=4.0)  # 8 s in 2 s: the 2 s queue overflows
    summary = await client.stop(timeout=30)
    [folder] = connection_folders(tmp_path, client.session_id)
    received = read_wav(folder / "system.wav").tobytes()
    processed = read_wav(folder / "system.processed.wav").tobytes()
    ranges = read_provenance(folder, "system")
    assert received == pcm and len(processed) < len(received)
    assert b"".join(received[r.start : r.end] for r in ranges) == processed
    assert all(a.end <= b.start for a, b in itertools.pairwise(ranges))
    assert all(r.start % 640 == 0 and r.end % 640 == 0 for r in ranges)
    assert all(a.t <= b.t for a, b in itertools.pairwise(ranges))  # when each piece left the queue
    lines = [json.loads(x) for x in (folder / "system.processed.jsonl").read_text().splitlines()]
    assert all(line["t"] <= line["cut"] for line in lines)  # pulled, then the chunk started
    cuts = sorted({line["cut"] for line in lines})
    assert len(cuts) == -(-len(processed) // 64_000)  # one start per chunk
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(cuts))  # 2 s chunks at RTF 0.5
    last_t1 = summary["json"]["transcript"][-1]["t1"]
    assert last_t1 == len(processed) / 32_000  # the timeline is what was processed
