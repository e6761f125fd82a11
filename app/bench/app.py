"""``python -m app.bench app [--minutes 10] [--mode window|tray|headless]``: the whole app as users run it.

The real app process (``python -m app``, the entry point a user starts) captures two live sources
on the virtual sound server (packaging/virtual-audio.sh; ``--sound-server pipewire`` for PipeWire's
PulseAudio layer), with speech played into both the whole time, and streams them, throttling on,
to a reference backend in a separate process, for ``--minutes`` per mode:

  window    the window visible on a virtual display (Xvfb), started with ``--start``
  tray      started minimized to the system tray (trayer on the same Xvfb): ``--minimized --start``
  headless  ``--headless --throttle on`` (no Qt at all)

Every ``--interval`` seconds (10) it samples the app process: CPU (% of one core), RSS, threads, open
files, and the transcript stored in its meeting history. After ``--warmup`` seconds (start-up, model
loading, connecting) it reports medians, the RSS growth slope in MB per hour and the transcript's
own growth, so a growing transcript can be told apart from a leak. The backend's CPU is shown too,
for information. One JSON object on stdout; a one-screen summary on stderr.

Targets (medians): CPU window <= 3.0 %, tray <= 2.0 %, headless <= 2.0 % of one core; RSS <= 150 MB
(window, tray), <= 80 MB (headless); RSS growth beyond the transcript <= 5 MB per hour (a run of at
least 30 minutes says it; shorter runs show the slope, not marked).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.bench.app_env import BenchError, BenchWorld, transcript_size
from app.bench.procstat import ProcSample, figures, sample

COMMAND = "python -m app.bench app"
MODES = ("window", "tray", "headless")
CPU_TARGET = {"window": 3.0, "tray": 2.0, "headless": 2.0}
RSS_TARGET_MB = {"window": 150.0, "tray": 150.0, "headless": 80.0}
GROWTH_TARGET_MB_PER_HOUR = 5.0
GROWTH_MIN_MINUTES = 30.0  # a slope over a shorter run is shown but not judged
STOP_WAIT_S = 60.0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="measured minutes per mode (default 10)")
    p.add_argument("--mode", action="append", choices=MODES, help="a mode to run (repeatable; default all)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples (default 10)")
    p.add_argument("--warmup", type=float, default=20.0, help="seconds before measuring (default 20)")
    p.add_argument("--recognizer", choices=("simulated", "pocketsphinx"), default="simulated",
                   help="the backend's recognizer (default simulated: the backend's own CPU stays low "
                        "on a shared machine; the app does the same work either way)")
    p.add_argument("--sound-server", choices=("pulseaudio", "pipewire"), default="pulseaudio")
    args = p.parse_args(argv)
    if args.minutes <= 0 or args.interval <= 0:
        p.error("--minutes and --interval must be positive")
    modes = args.mode or list(MODES)
    # Stopped early (Ctrl+C, kill, even when started in the background, where SIGINT is ignored):
    # unwind, so that every process this bench started is stopped.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = []
    for mode in modes:
        try:
            results.append(run_mode(mode, args))
        except BenchError as exc:
            results.append({"mode": mode, "error": str(exc), "pass": False})
    report = {"benchmark": "app", "command": " ".join([COMMAND, *argv]), "minutes": args.minutes,
              "interval_seconds": args.interval, "warmup_seconds": args.warmup,
              "sound_server": args.sound_server, "backend_recognizer": args.recognizer,
              "modes": results, "pass": all(r["pass"] for r in results)}
    print(json.dumps(report, indent=2))
    print(summary(report), file=sys.stderr)
    return 0


def app_command(mode: str) -> list[str]:
    if mode == "headless":
        return [sys.executable, "-m", "app", "--headless", "--server", "{url}", "--throttle", "on"]
    extra = ["--minimized"] if mode == "tray" else []
    return [sys.executable, "-m", "app", "--start", *extra]


def run_mode(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    world = BenchWorld(args.sound_server)
    backend: subprocess.Popen[str] | None = None
    app: subprocess.Popen[bytes] | None = None
    try:
        world.start_audio()
        if mode != "headless":
            world.start_display(tray=mode == "tray")
        backend = subprocess.Popen([sys.executable, "-m", "app.backend", "--port", "0", "--recognizer",
                                    args.recognizer], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   text=True)
        assert backend.stdout is not None
        line = backend.stdout.readline()
        if not line.startswith("listening on "):
            raise BenchError(f"the backend did not start: {line.strip()!r}")
        url = line.removeprefix("listening on ").strip()
        env = world.app_env(mode)
        if mode != "headless":
            world.write_settings(env, url)
        world.start_speech()
        command = [part.replace("{url}", url) for part in app_command(mode)]
        app = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        data_dir = Path(env["ECHOPANEL_DATA_DIR"])
        samples, backend_samples = _sample_for(app, backend, data_dir, args)
        stop_began = time.monotonic()
        app.send_signal(signal.SIGTERM)  # as a logout does: flush, stop, summary
        try:
            _, err = app.communicate(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            app.kill()
            _, err = app.communicate()
        stderr = err.decode(errors="replace")
        return judge(mode, args, samples, backend_samples, app.returncode, time.monotonic() - stop_began,
                     stderr, log_text(env, mode))
    finally:
        if app is not None and app.poll() is None:
            app.kill()
            app.wait()
        if backend is not None:
            backend.terminate()
            backend.wait(10)
        world.close()


def _sample_for(app: subprocess.Popen[bytes], backend: subprocess.Popen[str], data_dir: Path,
                args: argparse.Namespace) -> tuple[list[ProcSample], list[ProcSample]]:
    began = time.monotonic()
    measure_from = began + args.warmup
    end = measure_from + args.minutes * 60.0
    samples: list[ProcSample] = []
    backend_samples: list[ProcSample] = []
    due = measure_from
    while True:
        now = time.monotonic()
        if app.poll() is not None:
            raise BenchError(f"the app exited early (code {app.returncode}): "
                             f"{(app.stderr.read() if app.stderr else b'').decode(errors='replace')[-2000:]}")
        if now >= due:
            size, count = transcript_size(data_dir)
            s = sample(app.pid)
            samples.append(ProcSample(s.t, s.cpu_seconds, s.rss_bytes, s.threads, s.open_files, size, count))
            backend_samples.append(sample(backend.pid))
            if now >= end - 0.5:
                return samples, backend_samples
            due += args.interval
        time.sleep(min(0.5, max(0.05, due - time.monotonic())))


def log_text(env: dict[str, str], mode: str) -> str:
    name = "headless.log" if mode == "headless" else "echopanel-companion.log"
    path = Path(env["XDG_STATE_HOME"]) / "EchoPanel Companion" / "log" / name
    return path.read_text(errors="replace") if path.exists() else ""


def judge(mode: str, args: argparse.Namespace, samples: list[ProcSample], backend_samples: list[ProcSample],
          code: int | None, stop_seconds: float, stderr: str, log: str) -> dict[str, Any]:
    got = figures(samples)
    cpu, rss = got.get("cpu_percent_median"), got.get("rss_mb_median")
    growth = got.get("growth_beyond_transcript_mb_per_hour")
    checks: dict[str, bool | None] = {
        "cpu": cpu is not None and cpu <= CPU_TARGET[mode],
        "rss": rss is not None and rss <= RSS_TARGET_MB[mode],
        "growth": (growth is not None and growth <= GROWTH_TARGET_MB_PER_HOUR)
        if args.minutes >= GROWTH_MIN_MINUTES else None,
        "streamed": got.get("transcript_segments_last", 0) > 0,
        "clean_exit": code == 0 and "Traceback" not in stderr,
    }
    backend = figures(backend_samples)
    return {
        "mode": mode,
        "command": " ".join(app_command(mode)),
        **got,
        "backend_cpu_percent_median": backend.get("cpu_percent_median"),
        "tray_used": ("system tray: available" in log) if mode == "tray" else None,
        "exit_code": code,
        "stop_seconds": round(stop_seconds, 1),
        "targets": {"cpu_percent": CPU_TARGET[mode], "rss_mb": RSS_TARGET_MB[mode],
                    "growth_beyond_transcript_mb_per_hour": GROWTH_TARGET_MB_PER_HOUR},
        "checks": checks,
        "pass": all(v is not False for v in checks.values()),
    }


def summary(report: dict[str, Any]) -> str:
    def mark(ok: bool | None) -> str:
        return "  -  " if ok is None else ("pass" if ok else "FAIL")

    lines = [f"{COMMAND}: {report['minutes']:g} min per mode, {report['sound_server']}, "
             f"backend {report['backend_recognizer']}, sample every {report['interval_seconds']:g} s",
             f"{'mode':<9}{'CPU %':>8}{'':>6}{'RSS MB':>8}{'':>6}{'MB/h':>7}{'text MB/h':>10}{'':>6}"
             f"{'thr':>5}{'files':>6}{'segs':>6}"]
    for r in report["modes"]:
        if "error" in r:
            lines.append(f"{r['mode']:<9}ERROR: {r['error']}")
            continue
        c = r["checks"]
        lines.append(
            f"{r['mode']:<9}{_num(r['cpu_percent_median']):>8} {mark(c['cpu'])}{_num(r['rss_mb_median']):>8} "
            f"{mark(c['rss'])}{_num(r['growth_beyond_transcript_mb_per_hour']):>7}"
            f"{_num(r['transcript_growth_mb_per_hour']):>10} {mark(c['growth'])}"
            f"{_num(r['threads_median']):>5}{r['open_files_last']:>6}{r['transcript_segments_last']:>6}"
            + ("" if c["streamed"] and c["clean_exit"] else
               f"  streamed={c['streamed']} exit={r['exit_code']}"))
    lines.append("overall: " + ("pass" if report["pass"] else "FAIL"))
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
