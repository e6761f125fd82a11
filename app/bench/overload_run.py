"""One run of the overload benchmark: a backend subprocess, a session streaming the meeting, the traces.

``run_mode("on", meeting, cfg, folder)`` starts ``python -m app.backend --recognizer simulated --rtf
... --schedule ... --record-dir folder/recordings``, streams the meeting through a ``Session`` (replay
sources at real-time pace, throttling on or off), stops the backend (which finalises the recordings)
and returns a ``RawRun``: what the session showed (events, 10 Hz snapshots, final transcript) and, per
source and connection, every frame the backend received with its capture time and when the
recognizer consumed it, all in meeting time (seconds from the files' first sample).

The seam that traces received audio back to capture time is ``TracedSource``: it remembers every
frame handed to the session (bytes -> capture time); the meeting is dithered so every frame is unique.
A session hook giving per-connection sent frames with capture times could replace it.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from app.backend.chunking import chunk_bytes_for
from app.backend.recognizers import simulated_finals
from app.backend.recording import connection_folders, read_provenance, read_wav, safe_name
from app.bench import overload_analysis as oa
from app.bench.meeting import Meeting
from app.capture.replay import ReplaySource
from app.capture.source import CaptureCounters
from app.core.endpoint import parse_endpoint
from app.core.framing import Frame
from app.core.messages import FRAME_SECONDS, Source
from app.core.session_state import (
    ConnectionState,
    LevelChanged,
    ServerMetrics,
    SessionEnded,
    SessionEvent,
    StateChanged,
    TranscriptSegment,
)
from app.errors import AudioError, EchoPanelError
from app.session import Session
from app.session.config import SessionConfig

SAMPLE_SECONDS = 0.1  # snapshot sampling period


@dataclass(frozen=True, slots=True)
class BenchConfig:
    seconds: float = 120.0
    episode: tuple[float, float] = (30.0, 75.0)  # backend-session seconds of the RTF overload
    rtf: float = 0.5
    overload_rtf: float = 1.6
    seed: int = 7
    concurrent: bool = True
    cache_dir: Path | None = None
    keep_dir: Path | None = None

    @property
    def schedule(self) -> str:
        return f"{self.overload_rtf:g}@{self.episode[0]:g},{self.rtf:g}@{self.episode[1]:g}"


class TracedSource:
    """An ``AudioSource`` wrapper that remembers every frame it hands out: bytes -> capture time."""

    def __init__(self, inner: ReplaySource) -> None:
        self._inner = inner
        self.capture_times: dict[bytes, float] = {}
        self.duplicates = 0  # frames whose bytes were seen before (cannot be told apart)
        self.first_sample_time: float | None = None  # capture time of the file's first sample

    @property
    def source(self) -> Source:
        return self._inner.source

    @property
    def description(self) -> str:
        return self._inner.description

    @property
    def fault(self) -> AudioError | None:
        return self._inner.fault

    @property
    def finished(self) -> bool:
        return self._inner.finished

    async def start(self) -> None:
        await self._inner.start()

    async def stop(self) -> None:
        await self._inner.stop()

    def counters(self) -> CaptureCounters:
        return self._inner.counters()

    def read_frames(self) -> list[Frame]:
        frames = self._inner.read_frames()
        for frame in frames:
            if self.first_sample_time is None:
                self.first_sample_time = frame.capture_time - frame.index * FRAME_SECONDS
            if frame.pcm in self.capture_times:
                self.duplicates += 1
            self.capture_times.setdefault(frame.pcm, frame.capture_time)
        return frames


@dataclass
class Probe:
    """What one session showed while it ran: events, and snapshots sampled at 10 Hz."""

    session: Session
    levels: list[tuple[float, str, str]] = field(default_factory=list)  # (session t, level, reason)
    notes: list[tuple[float, str]] = field(default_factory=list)  # throttle note changes
    streaming_at: float | None = None
    server_backlog_max: dict[str, float] = field(default_factory=dict)
    client_backlog_max: float = 0.0
    client_backlog_max_by_source: dict[str, float] = field(default_factory=dict)

    def on_event(self, event: SessionEvent) -> None:
        if isinstance(event, LevelChanged):
            self.levels.append((event.t, event.report.level.value, event.report.reason))
        elif isinstance(event, StateChanged) and event.state is ConnectionState.STREAMING:
            self.streaming_at = event.t if self.streaming_at is None else self.streaming_at
        elif isinstance(event, ServerMetrics) and event.metrics.backlog_seconds is not None:
            src = event.metrics.source or Source.SYSTEM.value
            self.server_backlog_max[src] = max(self.server_backlog_max.get(src, 0.0),
                                               event.metrics.backlog_seconds)

    async def sample(self) -> None:
        while True:
            snap = self.session.snapshot()
            held = {s.value: c.buffered_frames * FRAME_SECONDS for s, c in snap.sources.items()}
            self.client_backlog_max = max(self.client_backlog_max, sum(held.values()))
            for src, seconds in held.items():
                self.client_backlog_max_by_source[src] = max(self.client_backlog_max_by_source.get(src, 0.0),
                                                             seconds)
            note = re.sub(r"\d+(\.\d+)?x?", "#", snap.throttle_note)
            if not self.notes or self.notes[-1][1] != note:
                self.notes.append((snap.elapsed_seconds, note))
            await asyncio.sleep(SAMPLE_SECONDS)


@dataclass(frozen=True, slots=True)
class ConnectionTrace:
    """One source on one connection: every received frame (meeting time), and the finals the
    recognizer emitted as ``(t0, t1)`` in its own time (seconds of processed audio)."""

    frames: list[oa.ReceivedFrame]
    server_finals: list[oa.Interval]


@dataclass
class RawRun:
    mode: str
    session: Session
    ended: SessionEnded
    probe: Probe
    to_meeting: float  # session time + to_meeting = meeting time
    traces: dict[str, list[ConnectionTrace]]  # per source, connections in order
    captured: dict[str, int]  # frames each source handed to the session
    duplicates: dict[str, int]  # captured frames whose bytes repeat (could not be traced)

    def meeting_time(self, session_time: float) -> float:
        return session_time + self.to_meeting

    def finals(self, source: str) -> list[list[TranscriptSegment]]:
        """The client's final segments of ``source`` per connection, in the order the server sent them."""
        out: list[list[TranscriptSegment]] = [[] for _ in self.traces.get(source, [])]
        for seg in self.session.snapshot().transcript:
            if seg.is_final and seg.source == source and seg.connection_index < len(out):
                out[seg.connection_index].append(seg)
        for segs in out:
            segs.sort(key=_arrival)
        return out


def _arrival(seg: TranscriptSegment) -> tuple[int, float]:
    """The reference backend numbers segments ``...-{source}-{n}`` in the order it sent them."""
    tail = (seg.segment_id or "").rsplit("-", 1)[-1]
    return (int(tail) if tail.isdigit() else 0, seg.t0)


async def run_mode(mode: str, meeting: Meeting, cfg: BenchConfig, folder: Path) -> RawRun:
    folder.mkdir(parents=True, exist_ok=True)
    record_dir = folder / "recordings"
    with (folder / "backend.log").open("w") as log:
        url, proc = await start_backend(cfg, record_dir, log)
        try:
            traced = {src.value: TracedSource(ReplaySource(src, path, realtime=True))
                      for src, path in meeting.files.items()}
            config = SessionConfig(endpoint=parse_endpoint(url), throttle=mode == "on", summary_timeout=60.0)
            session = Session(config, list(traced.values()))
            probe = Probe(session)
            session.add_listener(probe.on_event)
            sampler = asyncio.create_task(probe.sample())
            try:
                async with asyncio.timeout(cfg.seconds * 2 + 120):
                    ended = await session.run()
            finally:
                sampler.cancel()
            before = time.monotonic()
            elapsed = session.snapshot().elapsed_seconds
            session_t0 = (before + time.monotonic()) / 2 - elapsed  # monotonic time of session time 0
        finally:
            await stop_backend(proc)  # the recordings are complete once it has stopped
    starts = [t.first_sample_time for t in traced.values() if t.first_sample_time is not None]
    origin = min(starts, default=session_t0)  # meeting time 0 on the monotonic clock
    traces = {src: await read_traces(record_dir, session.session_id, src, t, origin)
              for src, t in traced.items()}
    return RawRun(mode, session, ended, probe, session_t0 - origin, traces,
                  {s: len(t.capture_times) + t.duplicates for s, t in traced.items()},
                  {s: t.duplicates for s, t in traced.items()})


async def read_traces(record_dir: Path, session_id: str, source: str, traced: TracedSource,
                      origin: float) -> list[ConnectionTrace]:
    """Per connection: the received stream traced frame by frame, and the recognizer's finals,
    re-derived from the processed audio with the backend's own (deterministic) segmenting stream."""
    def locate(pcm: bytes) -> float | None:
        capture = traced.capture_times.get(pcm)
        return None if capture is None else capture - origin

    try:
        folders = connection_folders(record_dir, session_id)
    except FileNotFoundError:
        return []
    out: list[ConnectionTrace] = []
    for folder in folders:  # one trace per connection, even an empty one: indices match the client's
        wav = folder / f"{safe_name(source)}.wav"
        received = read_wav(wav).tobytes() if wav.is_file() else b""
        ranges = [(r.start, r.end, r.t - origin) for r in read_provenance(folder, source)]
        processed = folder / f"{safe_name(source)}.processed.wav"
        pcm = read_wav(processed).tobytes() if processed.is_file() else b""
        out.append(ConnectionTrace(oa.received_frames(received, ranges, locate), await _segment(pcm)))
    return out


async def _segment(pcm: bytes) -> list[oa.Interval]:
    """The simulated recognizer's finals, re-derived from the processed audio: it transcribed it in
    2 s chunks (the backend's default --chunk-seconds), one final per speech region of each chunk."""
    return simulated_finals(pcm, chunk_bytes_for(2.0))


async def start_backend(cfg: BenchConfig, record_dir: Path,
                        log: IO[str]) -> tuple[str, subprocess.Popen[str]]:
    cmd = [sys.executable, "-m", "app.backend", "--port", "0", "--recognizer", "simulated",
           "--rtf", f"{cfg.rtf:g}", "--schedule", cfg.schedule, "--record-dir", str(record_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    assert proc.stdout is not None
    try:
        read = asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
        line = await asyncio.wait_for(read, 30)
    except TimeoutError:
        line = ""
    if "listening on " not in line:
        await stop_backend(proc)
        raise EchoPanelError(f"The reference backend did not start ({line.strip()!r}); see {log.name}.")
    return line.split("listening on ", 1)[1].strip(), proc


async def stop_backend(proc: subprocess.Popen[str]) -> None:
    proc.terminate()  # SIGTERM: a graceful stop that finalises the recordings
    try:
        await asyncio.get_running_loop().run_in_executor(None, proc.wait, 15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
