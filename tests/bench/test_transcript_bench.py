"""A small real run of ``python -m app.bench transcript``: it runs end to end offscreen and reports its
figures (the figures themselves are measured with the defaults and written in the README, not asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_transcript_benchmark_reports_memory_and_time_per_line() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "app.bench", "transcript", "--lines", "300"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["lines"] == 300
    assert {"bytes_per_line", "final_ms_median", "final_ms_p99", "partial_ms_median", "longest_step_ms",
            "ok"} <= result.keys()
    assert result["final_ms_median"] > 0 and result["partial_ms_median"] > 0
