"""A small real run of ``python -m app.bench history``: it runs end to end and reports its figures
(the figures themselves are measured with the defaults and written in the README, not asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_history_benchmark_reports_size_and_open_time() -> None:
    done = subprocess.run([sys.executable, "-m", "app.bench", "history", "--hours", "0.2", "--meetings", "20",
                           "--segments", "20", "--runs", "1"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["long_meeting"]["segments"] == 480 and result["long_meeting"]["dropped_writes"] == 0
    assert result["long_meeting"]["database_mb"] > 0
    assert result["history"]["runs"][0]["rows"] == 20 and result["history"]["total_ms_median"] > 0
