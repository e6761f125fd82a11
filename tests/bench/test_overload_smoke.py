"""A short real run of ``python -m app.bench overload``: both sessions, real backends, real time (~30 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SOURCES = {"system", "mic"}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_short_overload_run_shows_throttling_cuts_server_drops_and_keeps_more_speech(
    tmp_path: Path,
) -> None:
    cmd = [sys.executable, "-m", "app.bench", "overload", "--seconds", "24", "--episode", "6,14",
           "--cache-dir", str(tmp_path / "cache")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=110, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    assert set(result) >= {"config", "targets", "runs", "pass", "lag_definition"}
    assert result["config"]["schedule"] == "1.6@6,0.5@14"
    assert set(result["pass"]) == {"speech_preserved", "recovery", "timestamp_error", "backlog_bound", "all"}
    off, on = result["runs"]["off"], result["runs"]["on"]
    for run in (off, on):
        assert run["outcome"] == "summary", run["message"]
        assert set(run["server_dropped_seconds"]) == SOURCES == set(run["client_shed_seconds"])
        assert run["timestamp_error_seconds"]["count"] > 0
        assert run["level_timeline"] and run["lag_timeline"]
        for figures in run["provenance"].values():  # every received frame traced to a captured one
            assert figures["frames_received"] > 0 and figures["frames_unmatched"] == 0
    # the episode really overloaded the backend without throttling: it dropped audio and lagged
    assert sum(off["server_dropped_seconds"].values()) > 0.5
    assert off["lag_max_seconds"] > 1.0
    assert 0.0 < off["speech_preserved_ratio"] <= 1.0
    # throttling must do something measurable, not merely "no worse": fewer server drops, more speech
    assert sum(on["server_dropped_seconds"].values()) < sum(off["server_dropped_seconds"].values())
    assert on["speech_preserved_ratio"] > off["speech_preserved_ratio"]
    assert max(on["client_backlog_max_by_source"].values()) <= on["client_backlog_bound_seconds"]
