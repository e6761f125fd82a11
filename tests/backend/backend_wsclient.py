"""A raw websockets test client for the reference backend, plus signal and HTTP helpers.

The client reads in a background task (like a real client), so the server never blocks on a test
that is busy sending; tests wait for messages by predicate with a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

FRAME_BYTES = 640
RATE = 16_000

Message = dict[str, Any]


def tone(seconds: float, freq: float = 440.0, amp: float = 8000.0) -> bytes:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16).tobytes()


def silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * RATE))


def frames(pcm: bytes) -> Iterator[bytes]:
    for i in range(0, len(pcm), FRAME_BYTES):
        yield pcm[i : i + FRAME_BYTES]


def binary_frame(pcm: bytes, source: str = "system") -> bytes:
    return b"EP\x01" + bytes((0 if source == "system" else 1,)) + pcm


def json_frame(pcm: bytes, source: str = "system") -> str:
    return json.dumps({"type": "audio", "source": source, "data": base64.b64encode(pcm).decode()})


def start_message(session_id: object, **overrides: Any) -> str:
    body: dict[str, Any] = {
        "type": "start",
        "session_id": session_id,
        "attempt_id": "attempt-" + uuid.uuid4().hex[:8],
        "connection_id": "conn-" + uuid.uuid4().hex[:12],
        "sample_rate": 16000,
        "format": "pcm_s16le",
        "channels": 1,
        "client_features": {
            "clock_drift_compensation_enabled": False,
            "client_vad_enabled": True,
            "clock_drift_telemetry_enabled": True,
            "client_vad_telemetry_enabled": True,
        },
    }
    body.update(overrides)
    return json.dumps({k: v for k, v in body.items() if v is not None})


class LiveClient:
    """One websocket connection; every server message lands in ``messages`` as it arrives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[Message] = []
        self.session_id = str(uuid.uuid4())
        self.start_body: Message = {}
        self._arrived = asyncio.Event()
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, headers: dict[str, str] | None = None) -> LiveClient:
        ws = await connect(url, additional_headers=headers, max_size=None, open_timeout=10)
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.messages.append(json.loads(raw))
                self._arrived.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self._arrived.set()

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    async def wait_for(
        self, pred: Callable[[Message], bool], timeout: float = 10.0, after: int = 0
    ) -> Message:
        """The first message (index >= ``after``) matching ``pred``; AssertionError on close/timeout."""
        deadline = time.monotonic() + timeout
        index = after
        while True:
            for msg in self.messages[index:]:
                if pred(msg):
                    return msg
            index = len(self.messages)
            if self.closed.is_set():
                raise AssertionError(f"connection closed ({self.close_code}) first; got {self.messages[-5:]}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching message within {timeout} s; last: {self.messages[-5:]}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        await asyncio.wait_for(self.closed.wait(), timeout)
        return self.close_code

    async def start(self, **overrides: Any) -> Message:
        """Send ``start`` and return the streaming ack."""
        raw = start_message(self.session_id, **overrides)
        self.start_body = json.loads(raw)
        await self.ws.send(raw)
        return await self.wait_for(lambda m: m.get("state") == "streaming")

    async def send_audio(
        self, pcm: bytes, source: str = "system", *, binary: bool = True, speed: float | None = 10.0
    ) -> None:
        """Send 20 ms frames, paced at ``speed`` x real time (None: as fast as the socket takes them)."""
        began = time.monotonic()
        for i, frame in enumerate(frames(pcm)):
            await self.ws.send(binary_frame(frame, source) if binary else json_frame(frame, source))
            if speed is not None:
                delay = began + (i + 1) * 0.02 / speed - time.monotonic()
                if delay > 0.002:
                    await asyncio.sleep(delay)

    async def stop(self, timeout: float = 30.0) -> Message:
        """Send ``stop``; return the ``final_summary`` (the server then closes)."""
        await self.ws.send(json.dumps({"type": "stop", "session_id": self.session_id}))
        return await self.wait_for(lambda m: m.get("type") == "final_summary", timeout)

    def of_type(self, kind: str) -> list[Message]:
        return [m for m in self.messages if m.get("type") == kind]

    def statuses(self, state: str) -> list[Message]:
        return [m for m in self.messages if m.get("type") == "status" and m.get("state") == state]

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


async def http_get(url: str, path: str = "/health", headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """A minimal HTTP/1.1 GET over a raw socket: ``(status, parsed JSON body or text)``."""
    host_port = url.split("://", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [f"GET {path} HTTP/1.1", f"Host: {host_port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")
