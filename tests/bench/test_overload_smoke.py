"""A tiny real run of ``python -m app.bench overload``: one scenario at a tenth of its length, both
throttling modes, real reference backends in subprocesses, real time (about 15 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SOURCES = {"system", "mic"}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_tiny_dense_scenario_runs_end_to_end_and_reports_every_figure(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "app.bench", "overload", "--scenario", "dense", "--scale", "0.1",
           "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=110, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    assert list(result["scenarios"]) == ["dense"]
    scenario = result["scenarios"]["dense"]
    assert scenario["parameters"]["schedule"] == "1.6@3,0.25@6"
    for mode in ("off", "on"):
        run = scenario["runs"][mode]
        assert run["outcome"] == "summary", run["message"]
        assert set(run["speech_preserved_by_source"]) == SOURCES == set(run["speech_lost_seconds"])
        assert 0.0 < run["speech_preserved"] <= 1.0
        assert set(run["amber_warning"]) == {"first_amber", "first_red", "seconds"}
        assert run["light_timeline"] and run["level_timeline"]
        for figures in run["provenance"].values():  # every received frame traced to a captured one
            assert figures["frames_received"] > 0 and figures["frames_unmatched"] == 0
    for check in scenario["checks"].values():
        assert set(check) == {"value", "target", "pass", "impossible"}
    table = done.stderr.splitlines()
    assert table[-5].startswith("scenario") and table[-2].startswith("dense     on")
