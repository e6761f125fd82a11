"""IDEAL MODE: a scripted overload episode over real sockets: RTF 1.5, drops, the warning states, then
recovery visible only in metrics once the schedule drops the RTF.

This is not what the real server does (``test_backend_fidelity.py`` shows that): the ideal mode's
recognizer pulls 100 ms at a time, so the queue fills smoothly and warnings come from puts. The mode
stays available for tests that need idealised consumption; this test keeps it working as documented.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from backend_wsclient import LiveClient, tone

from app.backend import parse_schedule
from app.backend.recording import read_recording

RECOVERY_AT = 3.5  # seconds into the session


async def stream_until(client: LiveClient, done: asyncio.Event, speed: float) -> None:
    chunk = tone(0.2, 350)  # continuous speech: regions are cut at 10 s
    while not done.is_set():
        await client.send_audio(chunk, "system", speed=speed)


async def test_ideal_mode_overload_episode_then_recovery(make_backend, tmp_path: Path) -> None:
    backend = await make_backend(
        fidelity="ideal", rtf=0.1, schedule=parse_schedule(f"1.5@0,0.2@{RECOVERY_AT}"), record_dir=tmp_path
    )
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(tone(0.02), "mic")  # a second, healthy source: it re-arms the flag every second
    done = asyncio.Event()
    sender = asyncio.create_task(stream_until(client, done, speed=2.0))  # 2x real time into a 1.5 RTF
    try:
        def overloaded_metrics(m: dict) -> bool:
            return m.get("type") == "metrics" and m["source"] == "system" and m["queue_fill_ratio"] >= 0.95

        def is_state(state: str):
            return lambda m: m.get("type") == "status" and m.get("state") == state

        await client.wait_for(is_state("buffering"))
        overloaded = await client.wait_for(is_state("overloaded"))
        backpressure = await client.wait_for(is_state("backpressure"))
        full = await client.wait_for(overloaded_metrics)
        await client.wait_for(lambda m: m.get("type") == "metrics" and m["dropped_recent"] > 0)
        after_peak = client.messages.index(full)
        recovered = await client.wait_for(
            lambda m: m.get("type") == "metrics" and m["source"] == "system" and m["queue_fill_ratio"] < 0.70,
            timeout=RECOVERY_AT + 5, after=after_peak,
        )
    finally:
        done.set()
        with contextlib.suppress(Exception):
            await sender
    summary = await client.stop()

    assert overloaded["source"] == "system" and overloaded["backlog_seconds"] > 1.9
    assert client.messages.index(overloaded) < client.messages.index(backpressure)
    assert "source" not in backpressure and "system" in backpressure["message"]
    assert backpressure["dropped_frames"] > 0 and backpressure["dropped_seconds"] > 0
    assert backpressure["backlog_seconds"] > 1.9
    assert full["backlog_seconds"] >= 1.9 and full["queue_bytes"] >= 0.95 * 64000
    assert recovered["dropped_recent"] == 0 and recovered["dropped_total"] >= full["dropped_total"]
    assert not any(m.get("state") == "recovered" for m in client.messages)  # recovery is metrics-only

    metrics = client.of_type("metrics")
    assert sum(m["dropped_recent"] for m in metrics) == metrics[-1]["dropped_total"]
    assert all(m["source"] != "mic" or m["queue_fill_ratio"] < 0.70 for m in metrics)
    # What the recognizer consumed is what was received minus what was dropped (all chunks are 640 bytes).
    received = read_recording(tmp_path, client.session_id, "system")
    processed = read_recording(tmp_path, client.session_id, "system", processed=True)
    dropped_frames = max(m.get("dropped_frames", 0) for m in client.statuses("backpressure"))
    assert received.size - processed.size >= dropped_frames * 320
    assert summary["json"]["transcript"], "speech was still recognised"
    # Drops compress t0/t1: the transcript covers less time than was sent.
    assert summary["json"]["transcript"][-1]["t1"] <= processed.size / 16000 + 1e-6 < received.size / 16000
