"""Helpers for the session tests: test signals, WAV files, a session runner, a scripted WebSocket server."""

from __future__ import annotations

import asyncio
import json
import ssl as ssl_module
import wave
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from testkit import frame_signal
from websockets.asyncio.server import Server, ServerConnection, serve

from app.capture.replay import ReplaySource
from app.capture.source import AudioSource, CaptureCounters
from app.core.endpoint import parse_endpoint
from app.core.framing import Frame
from app.core.messages import Source
from app.core.reconnect import ReconnectPolicy
from app.core.session_state import SessionEnded, SessionEvent
from app.errors import AudioError
from app.session import Session
from app.session.config import SessionConfig

RATE = 16_000
AMPLITUDE = 0.3  # below half scale: int16 -> float -> int16 in the framer is then exact


def bursts(seconds: float, freq: float, on: float = 0.8, off: float = 0.5, lead: float = 0.3,
           seed: int = 0) -> tuple[npt.NDArray[np.int16], list[float]]:
    """Tone bursts separated by silence (each burst is one simulated-recognizer segment).

    Returns the samples and the start time of every burst. A little noise makes every frame unique,
    so a sample-exact comparison cannot pass by accident.
    """
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    gate = np.zeros(n, dtype=bool)
    starts: list[float] = []
    at = lead
    while at + on <= seconds:
        gate[int(at * RATE): int((at + on) * RATE)] = True
        starts.append(at)
        at += on + off
    rng = np.random.default_rng(seed)
    signal = np.where(gate, AMPLITUDE * np.sin(2 * np.pi * freq * t), 0.0) + rng.normal(0, 0.001, n)
    return np.round(signal * 32767).astype(np.int16), starts


def burst_frames(source: Source, seconds: float, freq: float, *, seed: int, start_time: float = 0.0,
                 on: float = 0.8, off: float = 0.5) -> list[Frame]:
    """``bursts`` framed as live capture would frame them, the first frame stamped ``start_time``."""
    signal, _ = bursts(seconds, freq, on=on, off=off, seed=seed)
    return frame_signal(signal, RATE, source, start_time=start_time)


class StandInSource:
    """Base of the tests' ``AudioSource`` stand-ins, for what a test machine cannot do with a real
    device (fail on cue, hand out scripted frames): ``frames`` is the audio it has to give, and
    subclasses implement ``read_frames`` (how it gives it)."""

    description = "a stand-in device"

    def __init__(self, source: Source, frames: Sequence[Frame] = ()) -> None:
        self._source = source
        self._fault: AudioError | None = None
        self._stopped = False
        self.frames = list(frames)
        self.given = 0  # frames handed out

    @property
    def source(self) -> Source:
        return self._source

    @property
    def fault(self) -> AudioError | None:
        return self._fault

    @property
    def finished(self) -> bool:
        return self._stopped or self._fault is not None

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        self._stopped = True

    def counters(self) -> CaptureCounters:
        return CaptureCounters(captured_frames=self.given)


def write_wav(path: Path, samples: npt.NDArray[np.int16], rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def session_config(url: str, **overrides: Any) -> SessionConfig:
    base: dict[str, Any] = {
        "reconnect": ReconnectPolicy(base_seconds=0.2, cap_seconds=1.0, max_attempts=10, jitter=0.1),
        "summary_timeout": 15.0,
    }
    base.update(overrides)
    return SessionConfig(endpoint=parse_endpoint(url), **base)


def replay_sources(files: dict[Source, Path], realtime: bool = True) -> list[AudioSource]:
    return [ReplaySource(src, path, realtime=realtime) for src, path in files.items()]


@dataclass
class Run:
    session: Session
    events: list[SessionEvent] = field(default_factory=list)
    ended: SessionEnded | None = None

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


async def run_session(config: SessionConfig, sources: Sequence[AudioSource], *,
                      during: Callable[[Run], Awaitable[None]] | None = None, timeout: float = 60.0,
                      tap: Callable[[list[Frame]], None] | None = None) -> Run:
    """Run a session to its end; ``during`` runs alongside (e.g. to kill a backend or stop early);
    ``tap`` receives every captured frame (``Session.add_audio_tap``)."""
    run = Run(Session(config, sources))
    run.session.add_listener(run.events.append)
    if tap is not None:
        run.session.add_audio_tap(tap)
    task = run.session.start()
    helper = asyncio.create_task(during(run)) if during else None
    async with asyncio.timeout(timeout):
        run.ended = await task
        if helper is not None:
            await helper
    return run


async def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.02) -> None:
    """Poll a condition on the loop (an event, not a timing assertion)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(step)


# --------------------------------------------------------------------------- scripted server

Script = Callable[["Peer"], Awaitable[None]]


@dataclass
class Peer:
    """One accepted connection of the scripted server, with helpers for writing scripts."""

    ws: ServerConnection
    index: int
    start: dict[str, Any] = field(default_factory=dict)
    audio_before_ack: int = 0
    audio_frames: int = 0

    async def send(self, obj: Any) -> None:
        await self.ws.send(obj if isinstance(obj, str | bytes) else json.dumps(obj))

    def ids(self) -> dict[str, str]:
        return {k: self.start.get(k, "") for k in ("session_id", "attempt_id", "connection_id")}

    async def handshake(self, ack_delay: float = 0.0) -> None:
        """connected, wait for start, (optionally hold the ack while counting early audio), ack."""
        await self.send({"type": "status", "state": "connected", "message": "Connected, waiting for start"})
        while True:
            msg = await self.ws.recv()
            if isinstance(msg, bytes):
                self.audio_before_ack += 1
                continue
            obj = json.loads(msg)
            if obj.get("type") == "start":
                self.start = obj
                break
            if obj.get("type") == "audio":
                self.audio_before_ack += 1
        if ack_delay:
            try:
                async with asyncio.timeout(ack_delay):
                    async for _ in self.ws:
                        self.audio_before_ack += 1
            except TimeoutError:
                pass
        await self.send({"type": "status", "state": "streaming", "message": "Streaming",
                         "client_features": self.start.get("client_features"), **self.ids()})

    async def until_stop(self) -> bool:
        """Read audio until ``stop``; False if the client went away first."""
        try:
            async for msg in self.ws:
                if isinstance(msg, bytes):
                    self.audio_frames += 1
                    continue
                obj = json.loads(msg)
                if obj.get("type") == "stop":
                    return True
                self.audio_frames += 1
        except Exception:
            return False
        return False

    async def summary(self, transcript: Sequence[dict[str, Any]] = ()) -> None:
        data = {"session_id": self.start.get("session_id"), "transcript": list(transcript)}
        await self.send({"type": "final_summary", "markdown": "# Summary", **self.ids(), "json": data})
        await self.ws.close(1000)


class ScriptedServer:
    """A websockets server whose N-th connection runs ``scripts[min(N, len-1)]``."""

    def __init__(self, scripts: Sequence[Script], *, drop_upgrades: int = 0,
                 ssl: ssl_module.SSLContext | None = None) -> None:
        """``drop_upgrades``: the first N upgrade requests are answered by dropping the TCP connection
        (a backend restarting, or a proxy giving up); ``ssl``: serve wss:// with this context."""
        self.scripts = list(scripts)
        self.peers: list[Peer] = []
        self.errors: list[BaseException] = []
        self.upgrades = 0
        self._drop_upgrades = drop_upgrades
        self._ssl = ssl
        self._server: Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=None, ping_interval=None,
                                   process_request=self._process_request, ssl=self._ssl)
        return self

    def _process_request(self, connection: ServerConnection, request: Any) -> Any:
        if request.path.endswith("/health"):  # ready, as an EchoPanel backend with its model loaded
            return connection.respond(200, '{"status": "ok", "service": "echopanel"}\n')
        self.upgrades += 1
        if self.upgrades <= self._drop_upgrades:
            connection.transport.abort()  # EOF where the client expects the HTTP 101 response
        return None

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"{'wss' if self._ssl else 'ws'}://127.0.0.1:{port}/ws/live-listener"

    async def _handle(self, ws: ServerConnection) -> None:
        peer = Peer(ws, len(self.peers))
        self.peers.append(peer)
        try:
            await self.scripts[min(peer.index, len(self.scripts) - 1)](peer)
        except Exception as exc:  # recorded for the test; the client's behaviour is what is asserted
            self.errors.append(exc)
