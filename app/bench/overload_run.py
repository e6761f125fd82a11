"""One run of the overload benchmark: a backend subprocess, its faults, a session streaming the meeting.

``run_mode("on", scenario, meeting, folder, options)`` starts ``python -m app.backend --recognizer
simulated --rtf ... --schedule ... --record-dir folder/recordings`` (plus ``--shared-recognizer``),
streams the meeting through a ``Session`` (replay sources at real-time pace, throttling on or off),
injects the scenario's faults (SIGSTOP/SIGCONT; SIGKILL and a new backend on the same port whose
schedule continues the first one's, ``--schedule-epoch``), stops the backend (which finalises the
recordings) and returns a ``RawRun``: what the session showed (events, 10 Hz snapshots of what it
held, the final transcript) and, per source and connection, every frame the backend received with
its capture time, when the recognizer consumed it and in which chunk, all in meeting time (seconds
from the files' first sample).

The seam that traces received audio back to capture time is ``TracedSource``: it remembers every
frame handed to the session (bytes -> capture time); the meeting is dithered (or noisy) so every
frame is unique.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from app.backend.chunking import chunk_bytes_for
from app.backend.recognizers import chunk_regions
from app.backend.recording import connection_folders, read_provenance, read_wav, safe_name
from app.bench import overload_analysis as oa
from app.bench.meeting import Meeting
from app.bench.overload_scenarios import Fault, Scenario
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
    StatusChanged,
    TranscriptSegment,
)
from app.core.vad import VoiceDetector
from app.errors import AudioError, EchoPanelError
from app.headless.events import event_to_json
from app.session import Session
from app.session.config import SessionConfig
from app.session.pipeline import PipeConfig
from app.session.voice import make_detector

SAMPLE_SECONDS = 0.1  # snapshot sampling period
CHUNK_SECONDS = 2.0  # the backend's default --chunk-seconds


@dataclass(frozen=True, slots=True)
class RunOptions:
    cache_dir: Path | None = None
    keep_dir: Path | None = None
    concurrent: bool = True  # off and on at the same time (two sessions, two backends)
    detector: str = "webrtc"  # the voice detector throttling uses (app.session.voice)
    hold_seconds: float = PipeConfig().buffer_seconds


class TracedSource:
    """An ``AudioSource`` wrapper that remembers every frame it hands out: bytes -> capture time."""

    def __init__(self, inner: ReplaySource) -> None:
        self._inner = inner
        self.capture_times: dict[bytes, float] = {}
        self.duplicates = 0  # frames whose bytes were seen before (cannot be told apart)
        self.first_sample_time: float | None = None  # capture time of the file's first sample
        self.frame_bytes = 0  # memory of one held frame (the Frame object and its PCM)

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
                self.frame_bytes = sys.getsizeof(frame) + sys.getsizeof(frame.pcm)
            if frame.pcm in self.capture_times:
                self.duplicates += 1
            self.capture_times.setdefault(frame.pcm, frame.capture_time)
        return frames


@dataclass
class Probe:
    """What one session showed while it ran: events, and snapshots sampled at 10 Hz. ``trace``: a file
    that gets every event as a JSON line, and twice a second what the connection's lane mirrors
    believe (for investigations; written with ``--keep``)."""

    session: Session
    trace: IO[str] | None = None
    levels: list[tuple[float, str, str]] = field(default_factory=list)  # (session t, server level, reason)
    lights: list[tuple[float, str, str]] = field(default_factory=list)  # (session t, status light, headline)
    notes: list[tuple[float, str]] = field(default_factory=list)  # throttle note changes
    states: list[tuple[float, str]] = field(default_factory=list)  # (session t, connection state)
    streaming_at: float | None = None  # session time of the first streaming ack
    server_backlog_max: dict[str, float] = field(default_factory=dict)
    held: list[tuple[float, dict[str, int]]] = field(default_factory=list)  # (t, frames held per source)
    window_max: dict[str, int] = field(default_factory=dict)  # resend window, frames, per source
    memory_max: dict[str, int] = field(default_factory=dict)  # hold + resend window, frames, per source

    def on_event(self, event: SessionEvent) -> None:
        if self.trace is not None:
            self.trace.write(event_to_json(event) + "\n")
        if isinstance(event, LevelChanged):
            self.levels.append((event.t, event.report.level.value, event.report.reason))
        elif isinstance(event, StatusChanged):
            if not self.lights or self.lights[-1][1] != event.report.light.value:
                self.lights.append((event.t, event.report.light.value, event.report.headline))
        elif isinstance(event, StateChanged):
            self.states.append((event.t, event.state.value))
            if event.state is ConnectionState.STREAMING and self.streaming_at is None:
                self.streaming_at = event.t
        elif isinstance(event, ServerMetrics) and event.metrics.backlog_seconds is not None:
            src = event.metrics.source or Source.SYSTEM.value
            self.server_backlog_max[src] = max(self.server_backlog_max.get(src, 0.0),
                                               event.metrics.backlog_seconds)

    def _mirrors(self, t: float) -> None:
        view = self.session.server_view
        if self.trace is None or view is None:
            return
        now = time.monotonic()
        lanes = {}
        for src in view.sources():
            m = view.mirror(src)
            chunks = [[c.start, c.end, round(c.started - now, 2),
                       None if c.ended is None else round(c.ended - now, 2), c.exact, c.uncertainty]
                      for c in m.chunks()[-3:]]
            lanes[src] = {"sent": m.sent_frames, "consumed": m.consumed(), "window": view.window_frames(src),
                          "credit": m.credit(now, view.flow.config.margin_frames),
                          "chunk_frames": m.chunk_frames, "dropped": m.dropped_frames(),
                          "live": view.flow.live(now), "reports_load": view.flow.reports_load,
                          "chunks": chunks}
        self.trace.write(json.dumps({"event": "mirror", "t": round(t, 3), "lanes": lanes}) + "\n")

    async def sample(self) -> None:
        beat = 0
        while True:
            snap = self.session.snapshot()
            view = self.session.server_view
            beat += 1
            if beat % 5 == 0:
                self._mirrors(snap.elapsed_seconds)
            held = {s.value: c.buffered_frames for s, c in snap.sources.items()}
            self.held.append((snap.elapsed_seconds, held))
            for src, frames in held.items():
                window = 0 if view is None else view.window_frames(src)
                self.window_max[src] = max(self.window_max.get(src, 0), window)
                self.memory_max[src] = max(self.memory_max.get(src, 0), frames + window)
            note = re.sub(r"\d+(\.\d+)?x?", "#", snap.throttle_note)
            if not self.notes or self.notes[-1][1] != note:
                self.notes.append((snap.elapsed_seconds, note))
            await asyncio.sleep(SAMPLE_SECONDS)


@dataclass(frozen=True, slots=True)
class ConnectionTrace:
    """One source on one connection: every received frame (meeting time), and the chunks the
    recognizer took: their cut times (meeting time) and the finals each gave, ``(t0, t1)`` in the
    recognizer's own time (re-derived from the processed audio; None: not in the recording)."""

    frames: list[oa.ReceivedFrame]
    chunk_cuts: list[float]
    chunk_finals: list[list[oa.Interval] | None]
    frames_beyond_recording: int = 0  # consumed per the provenance, but not in the received WAV


@dataclass
class RawRun:
    mode: str
    session: Session
    ended: SessionEnded
    probe: Probe
    to_meeting: float  # session time + to_meeting = meeting time
    traces: dict[str, list[ConnectionTrace]]  # per source, connections in order
    captured: dict[str, int]  # frames each source handed to the session
    captures: dict[str, list[float]]  # their capture times (meeting time), sorted
    duplicates: dict[str, int]  # captured frames whose bytes repeat (could not be traced)
    frame_bytes: int  # memory of one held frame
    faults: list[tuple[str, float, float]]  # (kind, start, end) in meeting time, as injected
    schedule_origin: float = 0.0  # meeting time of the backend schedule's second 0 (its epoch)

    def meeting_time(self, session_time: float) -> float:
        return session_time + self.to_meeting

    @property
    def stream_start(self) -> float:
        """Meeting time of the first streaming ack."""
        return self.meeting_time(self.probe.streaming_at or 0.0)

    def finals(self, source: str) -> list[list[TranscriptSegment]]:
        """The client's final segments of ``source`` per connection, in the order the server sent them."""
        out: list[list[TranscriptSegment]] = [[] for _ in self.traces.get(source, [])]
        for seg in self.session.snapshot().transcript:
            if seg.is_final and seg.source == source and seg.connection_index < len(out):
                out[seg.connection_index].append(seg)
        for segs in out:
            segs.sort(key=_arrival)
        return out

    def connection_ends(self) -> list[float]:
        """Meeting time at which each acknowledged connection stopped streaming (or the session's end)."""
        ends: list[float] = []
        streaming = False
        for t, state in self.probe.states:
            if state == ConnectionState.STREAMING.value:
                streaming = True
            elif streaming and state != ConnectionState.STOPPING.value:
                ends.append(self.meeting_time(t))
                streaming = False
        if streaming:
            ends.append(self.meeting_time(self.ended.t))
        return ends


def _arrival(seg: TranscriptSegment) -> tuple[int, float]:
    """The reference backend numbers segments ``...-{source}-{n}`` in the order it sent them."""
    tail = (seg.segment_id or "").rsplit("-", 1)[-1]
    return (int(tail) if tail.isdigit() else 0, seg.t0)


class Backend:
    """The backend subprocess of one run, and its faults."""

    def __init__(self, scenario: Scenario, record_dir: Path, log: IO[str]) -> None:
        self.scenario = scenario
        self.record_dir = record_dir
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    async def start(self, port: int = 0, epoch: float | None = None) -> None:
        s = self.scenario
        cmd = [sys.executable, "-m", "app.backend", "--port", str(port), "--recognizer", "simulated",
               "--rtf", f"{s.rtf:g}", "--schedule", s.schedule, "--record-dir", str(self.record_dir)]
        if s.shared:
            cmd.append("--shared-recognizer")
        if epoch is not None:
            cmd += ["--schedule-epoch", f"{epoch:.6f}"]
        proc = self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert proc.stdout is not None
        try:
            read = asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
            line = await asyncio.wait_for(read, 30)
        except TimeoutError:
            line = ""
        if "listening on " not in line:
            await self.stop()
            raise EchoPanelError(f"The reference backend did not start ({line.strip()!r}); "
                                 f"see {self.log.name}.")
        self.url = line.split("listening on ", 1)[1].strip()

    @property
    def port(self) -> int:
        return parse_endpoint(self.url).port

    async def stall(self, seconds: float) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(seconds)
        finally:
            os.kill(self.proc.pid, signal.SIGCONT)

    async def kill_and_restart(self, epoch: float) -> None:
        """SIGKILL (no close frame, recordings cut off), then a new backend on the same port whose
        schedule continues from ``epoch`` (the first session's start on the wall clock)."""
        assert self.proc is not None
        port = self.port
        self.proc.kill()
        await asyncio.get_running_loop().run_in_executor(None, self.proc.wait)
        await self.start(port, epoch)

    async def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)  # a stopped process would never see the SIGTERM
        proc.terminate()  # SIGTERM: a graceful stop that finalises the recordings
        try:
            await asyncio.get_running_loop().run_in_executor(None, proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def inject(faults: tuple[Fault, ...], epoch: tuple[float, float], backend: Backend,
                 done: list[tuple[str, float, float]]) -> None:
    """The faults, at their schedule seconds from ``epoch`` (monotonic, wall clock); ``done`` gets
    ``(kind, start, end)`` on the monotonic clock."""
    mono, wall = epoch
    for fault in faults:
        await asyncio.sleep(max(0.0, mono + fault.at - time.monotonic()))
        began = time.monotonic()
        if fault.kind == "stall":
            await backend.stall(fault.seconds)
        else:
            await backend.kill_and_restart(wall)
        done.append((fault.kind, began, time.monotonic()))


async def run_mode(mode: str, scenario: Scenario, meeting: Meeting, folder: Path,
                   options: RunOptions) -> RawRun:
    folder.mkdir(parents=True, exist_ok=True)
    record_dir = folder / "recordings"
    faults: list[tuple[str, float, float]] = []
    with (folder / "backend.log").open("w") as log, (folder / "events.jsonl").open("w") as trace:
        backend = Backend(scenario, record_dir, log)
        # One schedule for every backend session of the run (a reconnect after a stall opens a new
        # one, a restart a new process): it runs from the backend's launch, so the episode and the
        # faults keep their places in the meeting whatever happens to the connections.
        epoch = (time.monotonic(), time.time())
        await backend.start(epoch=epoch[1])
        try:
            traced = {src.value: TracedSource(ReplaySource(src, path, realtime=True))
                      for src, path in meeting.files.items()}
            config = SessionConfig(endpoint=parse_endpoint(backend.url), throttle=mode == "on",
                                   summary_timeout=60.0, pipe=PipeConfig(options.hold_seconds))
            detector: Callable[[], VoiceDetector] = make_detector(kind=options.detector)
            session = Session(config, list(traced.values()), detector=detector)
            probe = Probe(session, trace if options.keep_dir is not None else None)
            session.add_listener(probe.on_event)
            sampler = asyncio.create_task(probe.sample())
            injector = asyncio.create_task(inject(scenario.faults, epoch, backend, faults))
            try:
                async with asyncio.timeout(scenario.seconds * 2 + 180):
                    ended = await session.run()
            finally:
                sampler.cancel()
                injector.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await injector
            before = time.monotonic()
            elapsed = session.snapshot().elapsed_seconds
            session_t0 = (before + time.monotonic()) / 2 - elapsed  # monotonic time of session time 0
        finally:
            await backend.stop()  # the recordings are complete once it has stopped
    starts = [t.first_sample_time for t in traced.values() if t.first_sample_time is not None]
    origin = min(starts, default=session_t0)  # meeting time 0 on the monotonic clock
    traces = {src: read_traces(record_dir, session.session_id, src, t, origin) for src, t in traced.items()}
    frame_bytes = max((t.frame_bytes for t in traced.values()), default=0)
    return RawRun(mode, session, ended, probe, session_t0 - origin, traces,
                  {s: len(t.capture_times) + t.duplicates for s, t in traced.items()},
                  {s: sorted(c - origin for c in t.capture_times.values()) for s, t in traced.items()},
                  {s: t.duplicates for s, t in traced.items()}, frame_bytes,
                  [(kind, a - origin, b - origin) for kind, a, b in faults], epoch[0] - origin)


def read_traces(record_dir: Path, session_id: str, source: str, traced: TracedSource,
                origin: float) -> list[ConnectionTrace]:
    """Per connection: the received stream traced frame by frame, its chunks, and the recognizer's
    finals per chunk, re-derived from the processed audio with the backend's own (deterministic)
    segmenter (the simulated recognizer gives one final per speech region of each chunk)."""
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
        lines = read_provenance(folder, source)
        chunks: list[tuple[float, int]] = []  # (cut, bytes) per chunk, in order
        ranges: list[tuple[int, int, float, int]] = []
        for r in lines:
            if not chunks or r.cut != chunks[-1][0] or r.cut is None:
                chunks.append((r.cut if r.cut is not None else r.t, 0))
            chunks[-1] = (chunks[-1][0], chunks[-1][1] + r.end - r.start)
            ranges.append((r.start, r.end, r.t - origin, len(chunks) - 1))
        processed = folder / f"{safe_name(source)}.processed.wav"
        pcm = read_wav(processed).tobytes() if processed.is_file() else b""
        finals: list[list[oa.Interval] | None] = []
        offset = 0
        for _, size in chunks:
            whole = offset + size <= len(pcm) and size <= chunk_bytes_for(CHUNK_SECONDS)
            finals.append(chunk_regions(pcm[offset : offset + size], offset / 32_000) if whole else None)
            offset += size
        frames = oa.received_frames(received, ranges, locate)
        out.append(ConnectionTrace(frames, [cut - origin for cut, _ in chunks], finals,
                                   oa.frames_beyond(len(received), ranges)))
    return out
