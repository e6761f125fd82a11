"""A real-time two-source driver for the fidelity tests: what a client does, recorded with arrival times.

Both sources send 20 ms frames at real time on absolute deadlines from the start ack (frame k of
every source is due at ack + k x 20 ms, system first), then ``stop``; every server message is kept
with its arrival time in seconds since the ack. The same schedule drove the real EchoPanel server
(/work/realserver/drive.py) for the measurements these tests compare with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from backend_wsclient import binary_frame, start_message
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

FRAME_BYTES = 640
FRAME_SECONDS = 0.02
Message = dict[str, Any]


@dataclass
class Recorded:
    """One driven session: ``(t, message)`` pairs, t in seconds since the start ack."""

    messages: list[tuple[float, Message]] = field(default_factory=list)
    stop_at: float = 0.0
    close_code: int | None = None

    def statuses(self, state: str | None = None) -> list[tuple[float, Message]]:
        return [(t, m) for t, m in self.messages
                if m.get("type") == "status" and (state is None or m.get("state") == state)]

    def metrics(self, source: str | None = None) -> list[tuple[float, Message]]:
        return [(t, m) for t, m in self.messages
                if m.get("type") == "metrics" and (source is None or m.get("source") == source)]

    def finals(self, source: str) -> list[tuple[float, Message]]:
        return [(t, m) for t, m in self.messages if m.get("type") == "asr_final" and m["source"] == source]

    def first(self, kind: str) -> tuple[float, Message]:
        return next((t, m) for t, m in self.messages if m.get("type") == kind)


async def drive(url: str, seconds: float, audio: dict[str, bytes], summary_timeout: float = 20.0) -> Recorded:
    """Stream ``seconds`` of ``audio`` (PCM per source, looped) in real time, stop, await the summary."""
    rec = Recorded()
    async with connect(url, max_size=None, open_timeout=10) as ws:
        assert json.loads(await ws.recv())["state"] == "connected"
        raw = start_message("fidelity-" + str(time.monotonic_ns()))
        await ws.send(raw)
        while json.loads(await ws.recv()).get("state") != "streaming":
            pass
        ack = time.monotonic()
        done = asyncio.Event()

        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for payload in ws:
                    msg = json.loads(payload)
                    rec.messages.append((time.monotonic() - ack, msg))
                    if msg.get("type") == "final_summary":
                        done.set()
            done.set()

        reader = asyncio.create_task(read())
        try:
            for k in range(round(seconds / FRAME_SECONDS)):
                delay = ack + k * FRAME_SECONDS - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                for source, pcm in audio.items():
                    start = (k * FRAME_BYTES) % len(pcm)
                    await ws.send(binary_frame(pcm[start : start + FRAME_BYTES], source))
            session_id = json.loads(raw)["session_id"]
            rec.stop_at = time.monotonic() - ack
            await ws.send(json.dumps({"type": "stop", "session_id": session_id}))
            await asyncio.wait_for(done.wait(), summary_timeout)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), 5)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        rec.close_code = ws.close_code
    return rec
