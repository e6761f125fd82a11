"""``python -m app.bench app``: its figures from samples (pure), and a small real run of the headless
mode: the real app process, two live sources on the virtual PulseAudio, a backend subprocess. The
figures themselves are measured with the defaults and written in the README, not asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.bench.procstat import MB, ProcSample, cpu_percents, figures, sample, slope_per_hour

ROOT = Path(__file__).resolve().parents[2]


def test_slope_is_per_hour_and_needs_three_points() -> None:
    assert slope_per_hour([(0.0, 1.0), (10.0, 2.0)]) is None
    assert slope_per_hour([(0.0, 100.0), (1800.0, 102.5), (3600.0, 105.0)]) == pytest.approx(5.0)


def test_cpu_is_percent_of_one_core_per_interval() -> None:
    samples = [ProcSample(0.0, 1.0, 0, 1, 1), ProcSample(10.0, 1.2, 0, 1, 1), ProcSample(20.0, 1.5, 0, 1, 1)]
    assert cpu_percents(samples) == pytest.approx([2.0, 3.0])


def test_growth_beyond_the_transcript_subtracts_the_transcripts_own_growth() -> None:
    samples = [ProcSample(t * 600.0, t * 6.0, int((100 + 1.0 * t) * MB), 12, 30, int(0.5 * t * MB), 10 * t)
               for t in range(7)]  # an hour: RSS +6 MB, of which 3 MB is transcript
    got = figures(samples)
    assert got["cpu_percent_median"] == pytest.approx(1.0)
    assert got["rss_growth_mb_per_hour"] == pytest.approx(6.0)
    assert got["transcript_growth_mb_per_hour"] == pytest.approx(3.0)
    assert got["growth_beyond_transcript_mb_per_hour"] == pytest.approx(3.0)
    assert got["transcript_segments_last"] == 60 and got["threads_median"] == 12


def test_sampling_this_process_reads_sensible_values() -> None:
    s = sample(__import__("os").getpid())
    assert s.cpu_seconds > 0 and 10 * MB < s.rss_bytes < 4096 * MB and s.threads >= 1 and s.open_files >= 3


@pytest.mark.slow
@pytest.mark.audio
def test_a_short_headless_run_streams_two_live_sources_and_reports_every_figure() -> None:
    command = [sys.executable, "-m", "app.bench", "app", "--mode", "headless", "--minutes", "0.25",
               "--warmup", "8", "--interval", "3"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    [mode] = report["modes"]
    assert "error" not in mode, mode
    assert mode["mode"] == "headless" and mode["samples"] >= 5
    assert mode["checks"]["streamed"] and mode["checks"]["clean_exit"], mode
    assert mode["checks"]["growth"] is None  # a slope over seconds is shown, not judged
    for key in ("cpu_percent_median", "rss_mb_median", "rss_growth_mb_per_hour", "threads_median",
                "open_files_median", "transcript_bytes_last", "backend_cpu_percent_median"):
        assert mode[key] is not None, key
    assert "headless" in done.stderr and ("pass" in done.stderr or "FAIL" in done.stderr)  # the summary
