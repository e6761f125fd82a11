"""What ``python -m app.bench app`` samples of a process, and the figures made of the samples.

A ``ProcSample`` is one look at a process: CPU seconds used so far (user + system), resident memory,
threads and open files. psutil is used when installed; otherwise Linux's ``/proc`` (the bench runs
on the Linux test machine). ``figures`` turns samples (and the transcript's size at each) into
medians and slopes: CPU as % of one core over each interval, the RSS growth in MB per hour by least
squares, and the same slope for the stored transcript, so growth can be told apart from a leak.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ProcSample:
    t: float  # time.monotonic()
    cpu_seconds: float
    rss_bytes: int
    threads: int
    open_files: int
    transcript_bytes: int = 0
    transcript_segments: int = 0


def sample(pid: int) -> ProcSample:
    """One look at process ``pid`` (raises ``ProcessLookupError``/``OSError`` if it is gone)."""
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]  # optional: same figures, portable
    except ImportError:
        return _sample_proc(pid)
    proc = psutil.Process(pid)
    with proc.oneshot():
        cpu = proc.cpu_times()
        return ProcSample(time.monotonic(), cpu.user + cpu.system, proc.memory_info().rss,
                          proc.num_threads(), proc.num_fds() if hasattr(proc, "num_fds") else 0)


def _sample_proc(pid: int) -> ProcSample:
    base = Path(f"/proc/{pid}")
    now = time.monotonic()
    stat = (base / "stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)
    status = dict(line.split(":", 1) for line in (base / "status").read_text().splitlines() if ":" in line)
    rss = int(status["VmRSS"].split()[0]) * 1024
    threads = int(status["Threads"])
    files = len(os.listdir(base / "fd"))
    return ProcSample(now, cpu, rss, threads, files)


def cpu_percents(samples: list[ProcSample]) -> list[float]:
    """CPU over each interval between consecutive samples, as % of one core."""
    return [100.0 * (b.cpu_seconds - a.cpu_seconds) / (b.t - a.t)
            for a, b in itertools.pairwise(samples) if b.t > a.t]


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, value)`` points, per hour; None with fewer than 3 points."""
    if len(points) < 3:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return None
    return 3600.0 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def figures(samples: list[ProcSample]) -> dict[str, Any]:
    """Medians and slopes of ``samples`` (already cut to the measured stretch)."""
    if not samples:
        return {"samples": 0}
    t0 = samples[0].t
    rss_slope = slope_per_hour([(s.t - t0, s.rss_bytes / MB) for s in samples])
    text_slope = slope_per_hour([(s.t - t0, s.transcript_bytes / MB) for s in samples])
    beyond = None if rss_slope is None or text_slope is None else rss_slope - text_slope
    cpu = cpu_percents(samples)
    return {
        "samples": len(samples),
        "seconds": round(samples[-1].t - t0, 1),
        "cpu_percent_median": _median(cpu),
        "cpu_percent_max": round(max(cpu), 3) if cpu else None,
        "cpu_percent_mean": round(100.0 * (samples[-1].cpu_seconds - samples[0].cpu_seconds)
                                  / (samples[-1].t - t0), 3) if samples[-1].t > t0 else None,
        "rss_mb_median": _median([s.rss_bytes / MB for s in samples]),
        "rss_mb_first": round(samples[0].rss_bytes / MB, 1),
        "rss_mb_last": round(samples[-1].rss_bytes / MB, 1),
        "rss_growth_mb_per_hour": None if rss_slope is None else round(rss_slope, 2),
        "transcript_growth_mb_per_hour": None if text_slope is None else round(text_slope, 4),
        "growth_beyond_transcript_mb_per_hour": None if beyond is None else round(beyond, 2),
        "threads_median": _median([float(s.threads) for s in samples]),
        "open_files_median": _median([float(s.open_files) for s in samples]),
        "open_files_last": samples[-1].open_files,
        "transcript_bytes_last": samples[-1].transcript_bytes,
        "transcript_segments_last": samples[-1].transcript_segments,
    }
