"""``python -m app.bench ui [--seconds 60]``: how quickly the lamp shows what the backend says, and
whether the UI ever stalls the event loop.

The real window, controller and session (two replayed 48 kHz stereo sources, looped, at real time)
stream, in the default configuration, to the BUILT-IN backend: the app's own child process
(``app.backend.process``, pocketsphinx), with overload episodes on a schedule (floors on the
recognizer's speed) so the lamp has something to show, over the real WebSocket, on a qasync loop.
``--backend simulated`` uses a separately started reference backend with the simulated recognizer
instead (what this benchmark measured before the built-in backend had its own process).

1. Lamp latency: for every lamp change caused by a server ``status``/``metrics`` message, the time
   from the controller receiving that message (``app.ui.polls.SnapshotPolls.received_at``) to the end
   of the lamp's next ``paintEvent`` (``TrafficLight.set_paint_probe``). Median, p99, max. Target p99
   < 100 ms.
2. Event-loop stall: a probe on the same loop sleeps 5 ms at a time and records how late it wakes;
   the longest lateness over the whole session (start to summary) is the longest stall. Target < 50 ms.
   With it, the main thread's own CPU time over the worst stall's sleep (``worst_main_cpu_ms``) and the
   most it used over any one sleep (``max_main_cpu_per_wake_ms``): a stall much longer than the CPU the
   main thread used in it was time spent waiting for a CPU (other processes on a busy machine), not
   our code running on the loop. On Linux ``worst_main_wait_ms`` says so directly: the main thread's
   time runnable but not running (waiting in the run queue, ``/proc/thread-self/schedstat``) over
   that sleep.

Without a display it renders offscreen (``QT_QPA_PLATFORM=offscreen``). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

COMMAND = "python -m app.bench ui"
LATENCY_P99_TARGET_MS = 100.0
STALL_TARGET_MS = 50.0
PROBE_INTERVAL_S = 0.005
STOP_WAIT_S = 60.0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="streaming time before Stop (default 60)")
    p.add_argument(
        "--schedule",
        default=None,
        metavar="RTF@SECONDS,...",
        help="backend overload schedule (default: two episodes scaled to --seconds)",
    )
    p.add_argument("--backend", choices=("builtin", "simulated"), default="builtin",
                   help="builtin: the app's default configuration (default); simulated: a separate "
                        "reference backend with the simulated recognizer")
    args = p.parse_args(argv)
    if args.seconds < 5:
        p.error("--seconds must be at least 5")
    from app.ui.bench_harness import qt_platform, run_on_qt_loop  # the Qt side lives in app/ui

    schedule = args.schedule if args.schedule is not None else default_schedule(args.seconds)
    measured = run_on_qt_loop(lambda: _bench(args.seconds, schedule, args.backend))
    latency, stall = measured["lamp_latency_ms"], measured["loop_stall_ms"]
    result = {
        "benchmark": "ui",
        "command": " ".join([COMMAND, *argv]),
        "platform": qt_platform(),
        "backend": "built-in (child process, pocketsphinx)" if args.backend == "builtin"
        else "separate process, simulated recognizer",
        "backend_schedule": schedule,
        **measured,
        "targets": {"lamp_latency_p99_ms_max": LATENCY_P99_TARGET_MS, "loop_stall_ms_max": STALL_TARGET_MS},
        "pass": latency["p99"] is not None
        and latency["p99"] < LATENCY_P99_TARGET_MS
        and stall["max"] < STALL_TARGET_MS,
    }
    print(json.dumps(result, indent=2))
    return 0


def default_schedule(seconds: float) -> str:
    """Overload from 15 % to 35 % and from 55 % to 75 % of the run (RTF 1.8, else 0.3)."""
    marks = [(1.8, 0.15), (0.3, 0.35), (1.8, 0.55), (0.3, 0.75)]
    return ",".join(f"{rtf}@{seconds * at:.1f}" for rtf, at in marks)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _summary_ms(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"samples": 0, "median": None, "p99": None, "max": None}
    ms = [v * 1000.0 for v in values]
    return {
        "samples": len(ms),
        "median": round(statistics.median(ms), 2),
        "p99": round(_percentile(ms, 0.99), 2),
        "max": round(max(ms), 2),
    }


def run_queue_wait() -> Callable[[], float] | None:
    """The calling thread's total seconds runnable but not running so far (Linux), else ``None``."""
    try:  # kept open for the probe's whole run: one seek and read per wake-up, closed with it
        stat = open(f"/proc/self/task/{threading.get_native_id()}/schedstat", "rb", buffering=0)  # noqa: SIM115
    except OSError:
        return None

    def waited() -> float:
        stat.seek(0)
        return int(stat.read().split()[1]) / 1e9

    return waited


class StallProbe:
    """Sleeps ``PROBE_INTERVAL_S`` at a time on the loop; records how late each wake-up is."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self.worst_at = 0.0  # seconds after start() of the longest stall
        self.worst_cpu = 0.0  # main-thread CPU seconds used during the longest stall's sleep
        self.worst_wait: float | None = None  # main-thread run-queue seconds in it (Linux)
        self.max_cpu = 0.0  # most main-thread CPU seconds used during any one sleep
        self._began = 0.0
        self._worst = -1.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._began = time.perf_counter()
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        waited = run_queue_wait()
        wait_before = 0.0
        while True:
            cpu_before = time.thread_time()
            if waited is not None:
                wait_before = waited()
            due = time.perf_counter() + PROBE_INTERVAL_S
            await asyncio.sleep(PROBE_INTERVAL_S)
            now = time.perf_counter()
            cpu = time.thread_time() - cpu_before
            late = max(0.0, now - due)
            self.max_cpu = max(self.max_cpu, cpu)
            if late > self._worst:
                self._worst, self.worst_at, self.worst_cpu = late, now - self._began, cpu
                self.worst_wait = waited() - wait_before if waited is not None else None
            self.lateness.append(late)


async def _bench(seconds: float, schedule: str, backend_kind: str) -> dict[str, Any]:
    from app.bench.pipeline import _backend_url, _signal, _write_wav
    from app.capture.replay import ReplaySource
    from app.core.messages import Source
    from app.ui.bench_harness import run_window_session

    with tempfile.TemporaryDirectory(prefix="echopanel-bench-ui-") as tmp:
        files = {
            Source.SYSTEM: _write_wav(Path(tmp) / "system.wav", _signal(20.0, 440.0, 2)),
            Source.MIC: _write_wav(Path(tmp) / "mic.wav", _signal(20.0, 660.0, 3)),
        }
        command = [
            sys.executable,
            "-m",
            "app.backend",
            "--port",
            "0",
            "--recognizer",
            "simulated",
            "--schedule",
            schedule,
        ]
        backend = None
        if backend_kind == "simulated":
            backend = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = await _backend_url(backend) if backend is not None else ""  # "": the built-in one
            probe = StallProbe()
            probe.start()
            run = await run_window_session(
                url,
                lambda s: [ReplaySource(src, files[src], loop=True) for src in s.sources.sources],
                seconds,
                STOP_WAIT_S,
                builtin_args=["--schedule", schedule],
            )
            await probe.stop()
        finally:
            if backend is not None:
                backend.terminate()
                backend.wait(timeout=10)
    stalls = probe.lateness
    return {
        "streaming_seconds": seconds,
        "sources": 2,
        "session_wall_seconds": round(run.wall_seconds, 2),
        "stop_seconds": round(run.stop_seconds, 2),
        "stopped_cleanly": run.stopped_cleanly,
        "final_state": run.final_state,
        "server_messages_received": run.received,
        "levels_seen": run.levels,
        "lamp_latency_ms": _summary_ms(run.latencies),
        "loop_stall_ms": {
            **_summary_ms(stalls),
            "over_50ms": sum(1 for s in stalls if s * 1000 > STALL_TARGET_MS),
            "worst_at_seconds": round(probe.worst_at, 2),
            "worst_main_cpu_ms": round(probe.worst_cpu * 1000.0, 2),
            "worst_main_wait_ms": None if probe.worst_wait is None else round(probe.worst_wait * 1000.0, 2),
            "max_main_cpu_per_wake_ms": round(probe.max_cpu * 1000.0, 2),
        },
    }
