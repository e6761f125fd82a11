"""``python -m app.bench pipeline [--seconds 20] [--runs 5] [--tick S] [--live]``: client pipeline costs.

1. Client CPU per second of audio streamed, two sources: a headless ``Session`` replays two 48 kHz
   stereo WAVs at real time (framing, resampling, pacing, binary encoding, sending, receiving) to a
   reference backend RUNNING IN A SEPARATE PROCESS (``python -m app.backend --port 0 --recognizer
   simulated``), so only the client's CPU is counted: ``time.process_time()`` over the session divided
   by the audio seconds streamed, as % of one core. Target: at most 2 %. The figure is the median of
   ``--runs`` sessions (default 5), each in a fresh process: most of this CPU is paid per wake-up
   (one per session tick, ``--tick``, default ``DEFAULT_TICK_SECONDS`` in app.session.config), on a
   cold cache, so it depends on what else runs on the machine and even on the process's memory
   layout (sessions in one process agree closely; processes differ by up to 0.4 %). Also printed:
   how long after capture the frames were sent (mean and max per source), the price of a longer tick.
   ``--live`` captures the default devices instead (silence is as costly as speech), which adds
   the PortAudio callbacks; it is not the target's figure.
2. Framing + binary encoding throughput: ``Framer`` on 20 ms blocks of 48 kHz stereo float32, every
   frame encoded as binary v1, as fast as possible; audio seconds per wall second. Target: >= 200x.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from app.capture.factory import make_sources
from app.capture.replay import ReplaySource
from app.core.endpoint import parse_endpoint
from app.core.framing import Framer
from app.core.messages import AudioMessage, Source
from app.core.protocol import encode_audio_binary
from app.core.session_state import StopOutcome
from app.session import Session
from app.session.config import DEFAULT_TICK_SECONDS, SessionConfig

NATIVE_RATE = 48_000
COMMAND = "python -m app.bench pipeline"
CPU_TARGET_PERCENT = 2.0
THROUGHPUT_TARGET = 200.0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0, help="audio streamed per source (default 20)")
    p.add_argument("--framing-seconds", type=float, default=120.0, help="audio framed for throughput")
    p.add_argument("--tick", type=float, default=DEFAULT_TICK_SECONDS,
                   help=f"the session's read/send cadence in seconds (default {DEFAULT_TICK_SECONDS})")
    p.add_argument("--runs", type=int, default=5,
                   help="sessions, each in a fresh process; the median is reported (default 5)")
    p.add_argument("--live", action="store_true",
                   help="capture the default microphone and system audio instead of replaying WAVs "
                   "(needs audio devices; on a machine without any: packaging/dev.sh audio start)")
    p.add_argument("--one-session", action="store_true", help=argparse.SUPPRESS)  # what each run does
    args = p.parse_args(argv)
    if args.one_session:
        print(json.dumps(asyncio.run(client_cpu(args.seconds, args.tick, live=args.live))))
        return 0
    throughput = framing_throughput(args.framing_seconds)
    stream = client_cpu_runs(args.seconds, args.tick, max(1, args.runs), live=args.live)
    result = {
        "benchmark": "pipeline",
        "command": " ".join([COMMAND, *argv]),
        **stream,
        "client_cpu_target_max_percent": CPU_TARGET_PERCENT,
        "framing_encoding_x_realtime": round(throughput, 1),
        "framing_encoding_target_min_x": THROUGHPUT_TARGET,
        "pass": stream["client_cpu_percent_of_one_core"] <= CPU_TARGET_PERCENT
        and throughput >= THROUGHPUT_TARGET,
    }
    print(json.dumps(result, indent=2))
    return 0


def _signal(seconds: float, freq: float, seed: int) -> np.ndarray:
    """Stereo float32 speech-like test audio: tone bursts with a little noise."""
    n = int(seconds * NATIVE_RATE)
    t = np.arange(n, dtype=np.float64) / NATIVE_RATE
    gate = (np.floor(t / 0.7) % 2 == 0).astype(np.float64)
    rng = np.random.default_rng(seed)
    mono = 0.3 * gate * np.sin(2 * np.pi * freq * t) + rng.normal(0.0, 0.01, n)
    return np.stack([mono, mono * 0.8], axis=1).astype(np.float32)


def framing_throughput(seconds: float) -> float:
    audio = _signal(seconds, 440.0, 1)
    block = NATIVE_RATE // 50
    blocks = [audio[i : i + block] for i in range(0, len(audio), block)]
    framer = Framer(Source.SYSTEM, NATIVE_RATE, 2)
    began = time.perf_counter()
    sent = 0
    for i, samples in enumerate(blocks):
        for frame in framer.feed(samples, i * 0.02):
            sent += len(encode_audio_binary(AudioMessage(frame.source, frame.pcm)))
    for frame in framer.flush():
        sent += len(encode_audio_binary(AudioMessage(frame.source, frame.pcm)))
    elapsed = time.perf_counter() - began
    assert sent > 0
    return seconds / elapsed


def _write_wav(path: Path, audio: np.ndarray) -> Path:
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(audio.shape[1])
        w.setsampwidth(2)
        w.setframerate(NATIVE_RATE)
        w.writeframes(pcm.tobytes())
    return path


def client_cpu_runs(seconds: float, tick: float, runs: int, *, live: bool = False) -> dict[str, Any]:
    """``client_cpu`` in ``runs`` fresh processes, one after the other; the median run's figures."""
    results = []
    for _ in range(runs):
        child = subprocess.run(
            [sys.executable, "-m", "app.bench", "pipeline", "--one-session",
             "--seconds", str(seconds), "--tick", str(tick), *(["--live"] if live else [])],
            capture_output=True, text=True, check=True)
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    percents = [r["client_cpu_percent_of_one_core"] for r in results]
    median = sorted(results, key=lambda r: r["client_cpu_percent_of_one_core"])[(len(results) - 1) // 2]
    return {**median, "client_cpu_percent_of_one_core": round(statistics.median(percents), 2),
            "runs": runs, "client_cpu_percent_per_run": percents}


async def client_cpu(seconds: float, tick: float = DEFAULT_TICK_SECONDS, *,
                     live: bool = False) -> dict[str, Any]:
    """One session against a backend in its own process; this process's CPU over the session (with
    ``live``, the PortAudio callback threads' too)."""
    with tempfile.TemporaryDirectory(prefix="echopanel-bench-") as tmp:
        files = {} if live else {
            Source.SYSTEM: _write_wav(Path(tmp) / "system.wav", _signal(seconds, 440.0, 2)),
            Source.MIC: _write_wav(Path(tmp) / "mic.wav", _signal(seconds, 660.0, 3))}
        backend = subprocess.Popen(
            [sys.executable, "-m", "app.backend", "--port", "0", "--recognizer", "simulated"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = await _backend_url(backend)
            sources = (make_sources((Source.SYSTEM, Source.MIC)) if live
                       else [ReplaySource(src, path, realtime=True) for src, path in files.items()])
            session = Session(SessionConfig(endpoint=parse_endpoint(url), tick_seconds=tick), sources)
            samples: list[tuple[float, dict[Source, tuple[int, float]]]] = []
            cpu0, loop0, wall0 = time.process_time(), time.thread_time(), time.monotonic()
            if live:  # devices never end: stop after the duration
                asyncio.get_running_loop().call_later(seconds, session.request_stop)
            sampler = asyncio.create_task(_sample_pacing(session, samples))
            ended = await session.run()
            cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
            loop_cpu = time.thread_time() - loop0
            sampler.cancel()
        finally:
            backend.terminate()
            backend.wait(timeout=10)
    if ended.outcome is not StopOutcome.SUMMARY:
        raise RuntimeError(f"the benchmark session did not end cleanly: {ended.message}")
    counters = ended.sources.items()
    return {
        "sources_kind": "live devices" if live else "replayed WAVs",
        "audio_seconds_per_source": seconds,
        "sources": 2,
        "tick_seconds": tick,
        "session_wall_seconds": round(wall, 2),
        "client_cpu_seconds": round(cpu, 3),
        "client_cpu_percent_of_one_core": round(100.0 * cpu / seconds, 2),
        # the event-loop thread alone; the rest is other threads (live: PortAudio and its sound server client)
        "event_loop_thread_cpu_percent": round(100.0 * loop_cpu / seconds, 2),
        "frames_sent": {src.value: c.sent_frames for src, c in ended.sources.items()},
        "send_lag_ms_mean": {src.value: round(1000 * c.mean_send_lag_seconds, 1) for src, c in counters},
        "send_lag_ms_max": {src.value: round(1000 * c.max_send_lag_seconds, 1) for src, c in counters},
        "frames_dropped_by_client": {src.value: c.dropped_frames for src, c in ended.sources.items()},
        **pacing_figures(samples),
    }


PACING_SAMPLE_SECONDS = 0.25  # 4 snapshots a second: negligible next to the session's own work


async def _sample_pacing(session: Session, out: list[tuple[float, dict[Source, tuple[int, float]]]]) -> None:
    """Every ``PACING_SAMPLE_SECONDS``: (time, per source (frames sent, send lag of the last one))."""
    while True:
        sources = session.snapshot().sources
        out.append((time.monotonic(), {s: (c.sent_frames, c.send_lag_seconds) for s, c in sources.items()}))
        await asyncio.sleep(PACING_SAMPLE_SECONDS)


def pacing_figures(samples: list[tuple[float, dict[Source, tuple[int, float]]]]) -> dict[str, Any]:
    """How exactly real time the live part of the stream was sent (the strict figures the pacing
    test only bounds loosely): per source, the send rate's error against real time between the first
    and last sample that were both streaming, in percent, and the 95th percentile of the send lag."""
    rate_error, lag_p95 = {}, {}
    for src in (samples[-1][1] if samples else {}):
        live = [(t, got[src]) for t, got in samples if src in got and got[src][0] > 0]
        live = live[:-2]  # the last samples may fall into the stop flush
        if len(live) < 8:
            continue
        (t0, (n0, _)), (t1, (n1, _)) = live[0], live[-1]
        sent_seconds = (n1 - n0) * 0.02
        rate_error[src.value] = round(100.0 * (sent_seconds - (t1 - t0)) / (t1 - t0), 2)
        lag_p95[src.value] = round(1000 * statistics.quantiles([lag for _, (_, lag) in live], n=20)[-1], 1)
    return {"send_rate_error_percent": rate_error, "sampled_send_lag_ms_p95": lag_p95}


async def _backend_url(proc: subprocess.Popen[str]) -> str:
    """The backend prints "listening on ws://..." once it listens."""
    assert proc.stdout is not None
    line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
    if "listening on " not in line:
        raise RuntimeError(f"the backend did not start: {line.strip()!r}")
    return line.split("listening on ", 1)[1].strip()
