"""Headless mode with bad input and bad luck: server text no file can hold, a full disk, a flood of
messages. Real subprocesses against scripted loopback servers."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from sessionkit import Peer, ScriptedServer

from app.core.messages import Source

ROOT = Path(__file__).resolve().parents[2]


async def run_headless(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    """Headless mode in a subprocess while this test's loop keeps serving the scripted server."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.headless", *args, cwd=ROOT, env=dict(os.environ),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


# Lone surrogates, as JSON escapes them: json.dumps writes "\ud800" for these.
BROKEN_TEXT = "budget \ud800 review"


async def surrogates_in_transcript_and_summary(peer: Peer) -> None:
    await peer.handshake()
    await peer.send({"type": "asr_final", "text": BROKEN_TEXT, "t0": 0.1, "t1": 0.9, "source": "mic",
                     **peer.ids()})
    await peer.send({"type": "asr_final", "text": "plain line", "t0": 1.0, "t1": 1.5, "source": "mic",
                     **peer.ids()})
    if await peer.until_stop():
        await peer.summary([{"text": "summary \udfff line", "t0": 2.0, "t1": 2.5, "source": "mic"}])


async def test_unencodable_server_text_drops_no_transcript_line_from_the_events_file(
    wavs: dict[Source, Path], tmp_path: Path
) -> None:
    events_file = tmp_path / "events.jsonl"
    async with ScriptedServer([surrogates_in_transcript_and_summary]) as server:
        code, _, err = await run_headless(
            "--server", server.url, "--replay-mic", str(wavs[Source.MIC]), "--events", str(events_file),
            "--log-file", str(tmp_path / "h.log"))
    assert code == 0, err
    events = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines()]
    texts = [e["text"] for e in events if e["event"] == "transcript"]
    assert texts[:2] == ["budget \ufffd review", "plain line"], texts
    assert events[-1]["event"] == "session_end" and events[-1]["outcome"] == "summary"
    assert "Traceback" not in (tmp_path / "h.log").read_text(encoding="utf-8")


async def well_behaved(peer: Peer) -> None:
    await peer.handshake()
    if await peer.until_stop():
        await peer.summary([{"text": "the summary", "t0": 0.2, "t1": 0.8, "source": "mic"}])


async def test_a_full_disk_under_events_keeps_the_session_going_and_says_the_file_is_incomplete(
    wavs: dict[Source, Path], tmp_path: Path
) -> None:
    """/dev/full: every write fails with ENOSPC (Linux), session_end included."""
    async with ScriptedServer([well_behaved]) as server:
        code, _, err = await run_headless("--server", server.url, "--replay-mic", str(wavs[Source.MIC]),
                                          "--events", "/dev/full", "--log-file", str(tmp_path / "h.log"))
    assert code == 0, err  # the session itself ended with its summary
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "The events file /dev/full is incomplete" in lines[0], err
    assert "No space left on device" in lines[0] and "even session_end could not be written" in lines[0]
    assert server.peers[0].audio_frames > 100  # it streamed the whole file meanwhile
    log = (tmp_path / "h.log").read_text(encoding="utf-8")
    assert log.count("cannot write to the events file") == 1 and "Traceback" not in log


async def metrics_flood(peer: Peer) -> None:
    """2000 metrics messages as fast as the socket takes them, 1 drop each, then a normal end."""
    await peer.handshake()
    for n in range(2000):
        await peer.send({"type": "metrics", "source": "mic", "queue_fill_ratio": 0.5, "dropped_recent": 1,
                         "dropped_total": n + 1, **peer.ids()})
        if n % 200 == 0:
            await asyncio.sleep(0.1)  # spread over about a second
    await well_behaved_after_handshake(peer)


async def well_behaved_after_handshake(peer: Peer) -> None:
    if await peer.until_stop():
        await peer.summary()


async def test_a_flood_of_metrics_does_not_grow_the_events_file_without_bound(
    wavs: dict[Source, Path], tmp_path: Path
) -> None:
    events_file = tmp_path / "events.jsonl"
    async with ScriptedServer([metrics_flood]) as server:
        code, _, err = await run_headless("--server", server.url, "--replay-mic", str(wavs[Source.MIC]),
                                          "--events", str(events_file), "--log-file", str(tmp_path / "h.log"))
    assert code == 0, err
    events = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines()]
    lines = [e for e in events if e["event"] == "metrics"]
    duration = events[-1]["t"]
    assert len(lines) <= 2 * duration + 2, (len(lines), duration)  # 2 a second, and the last held one
    assert sum(e["coalesced"] for e in lines) == 2000 and sum(e["dropped_recent"] for e in lines) == 2000
