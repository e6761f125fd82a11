"""Headless mode as a user runs it: a subprocess, replay WAVs, JSON-lines events, exit codes."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.messages import Source

ROOT = Path(__file__).resolve().parents[2]


def headless(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "app.headless", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          input=input, stdin=None if input is not None else subprocess.DEVNULL)


def test_replay_run_prints_the_required_events_and_exits_0(wavs: dict[Source, Path], tmp_path: Path) -> None:
    result = headless("--embedded-recognizer", "simulated", "--replay-system", str(wavs[Source.SYSTEM]),
                      "--replay-mic", str(wavs[Source.MIC]), "--events", "-", "--encoding", "json",
                      "--throttle", "on", "--log-file", str(tmp_path / "h.log"))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = {e["event"] for e in events}
    assert {"state", "status", "metrics", "transcript", "level", "summary", "session_end"} <= kinds
    assert events[-1]["event"] == "session_end"
    end = events[-1]
    assert end["outcome"] == "summary" and end["reconnects"] == 0 and end["server_dropped_frames"] == 0
    for src in ("system", "mic"):
        counts = end["sources"][src]
        assert counts["captured_frames"] == counts["sent_frames"] > 100 and counts["dropped_frames"] == 0
        assert 0 < counts["send_lag_mean_seconds"] < 0.5 and counts["send_lag_max_seconds"] > 0.02
    assert {e["source"] for e in events if e["event"] == "transcript"} == {"system", "mic"}
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--server", "ftp://nowhere"], "Unsupported scheme"),
        (["--server", "host name with spaces"], "contains spaces"),
        (["--replay-system", "/no/such/file.wav"], "does not exist"),
        (["--duration", "-3"], "--duration"),
        (["--server", f"ws://{'a' * 64}.example:8000"], "each part between dots must have 1 to 63"),
        (["--replay-system", "/"], "is a directory"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line_and_no_traceback(
    args: list[str], expected: str, tmp_path: Path, wavs: dict[Source, Path]
) -> None:
    extra = [] if "--replay-system" in args else ["--replay-system", str(wavs[Source.SYSTEM])]
    result = headless(*args, *extra, "--log-file", str(tmp_path / "h.log"), timeout=30)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_token_exits_non_zero_with_one_line(wavs: dict[Source, Path], tmp_path: Path) -> None:
    """A backend that wants a token, given the wrong one through ECHOPANEL_TOKEN."""
    from app.backend import BackendConfig, EmbeddedBackend

    backend = EmbeddedBackend(BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", token="good"))
    backend.start()
    try:
        result = headless("--server", backend.ws_url, "--replay-mic", str(wavs[Source.MIC]),
                          "--log-file", str(tmp_path / "h.log"), env={"ECHOPANEL_TOKEN": "bad"}, timeout=30)
    finally:
        backend.stop()
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the token" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_sigint_stops_gracefully_with_flush_stop_and_summary(tmp_path: Path) -> None:
    import signal

    from sessionkit import bursts, write_wav

    path = write_wav(tmp_path / "long.wav", bursts(30.0, 440.0)[0])
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.headless", "--embedded-recognizer", "simulated",
         "--replay-system", str(path), "--events", "-", "--log-file", str(tmp_path / "h.log")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    events = []
    try:
        for line in proc.stdout:  # wait until audio flows, then interrupt like Ctrl-C
            events.append(json.loads(line))
            if events[-1]["event"] == "metrics":
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    events += [json.loads(line) for line in out.splitlines()]
    assert proc.returncode == 0, err
    end = events[-1]
    assert end["event"] == "session_end" and end["outcome"] == "summary"
    counts = end["sources"]["system"]
    assert counts["captured_frames"] == counts["sent_frames"] < 1500  # stopped early, nothing left behind
    assert any(e["event"] == "state" and e["state"] == "stopping" for e in events)


def test_throttle_on_against_an_overloaded_backend_reports_throttling(tmp_path: Path) -> None:
    """--throttle on against a backend that needs 3 s per second of audio (simulated recognizer)."""
    from sessionkit import bursts, write_wav

    from app.backend import BackendConfig, EmbeddedBackend

    # speech-like bursts (gaps shorter than the VAD's hangover): throttling holds them, skips nothing
    files = {src: write_wav(tmp_path / f"{src}.wav", bursts(8.0, freq, on=0.8, off=0.15, seed=seed)[0])
             for src, freq, seed in (("system", 220.0, 31), ("mic", 330.0, 32))}
    backend = EmbeddedBackend(BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", rtf=3.0))
    backend.start()
    try:
        result = headless("--server", backend.ws_url, "--replay-system", str(files["system"]),
                          "--replay-mic", str(files["mic"]), "--throttle", "on", "--events", "-",
                          "--log-file", str(tmp_path / "h.log"), timeout=90)
    finally:
        backend.stop()
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    throttle = [e for e in events if e["event"] == "throttle"]
    assert throttle and throttle[0]["enabled"] is True and throttle[0]["mode"] == "live"
    # the overload made it hold audio, and said so, per source
    holding = [e for e in throttle if "holding" in e["text"]]
    assert holding, [e["text"] for e in throttle]
    assert all(set(e["held_seconds"]) == {"system", "mic"} for e in holding)
    assert any(sum(e["held_seconds"].values()) > 1.0 for e in holding)
    assert {"shed_seconds", "skipped_seconds", "mode"} <= set(throttle[-1])
    # rate-limited: at most ~2 a second (the last one, at the end, is the final word and may be sooner)
    times = [e["t"] for e in throttle[:-1]]
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(times)), times
    end = events[-1]
    assert end["event"] == "session_end" and end["outcome"] == "summary"
    for src in ("system", "mic"):
        c = end["sources"][src]
        assert {"dropped_frames", "shed_frames", "skipped_frames", "buffered_frames"} <= set(c)
        assert c["captured_frames"] == (c["sent_frames"] + c["dropped_frames"] + c["shed_frames"]
                                        + c["skipped_frames"] + c["buffered_frames"]), c
        assert c["dropped_frames"] == 0 and c["captured_frames"] > 350


def test_duration_counts_streaming_time_not_model_loading(tmp_path: Path) -> None:
    """A backend whose model takes 5 s to load: ``--duration 2`` still streams 2 s of audio."""
    from sessionkit import bursts, write_wav

    from app.backend import BackendConfig, EmbeddedBackend

    path = write_wav(tmp_path / "long.wav", bursts(8.0, 440.0, seed=41)[0])
    backend = EmbeddedBackend(BackendConfig(host="127.0.0.1", port=0, recognizer="simulated",
                                            load_seconds=5.0))
    backend.start()
    try:
        result = headless("--server", backend.ws_url, "--replay-system", str(path), "--duration", "2",
                          "--events", "-", "--log-file", str(tmp_path / "h.log"), timeout=60)
    finally:
        backend.stop()
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert any(e["event"] == "state" and e["detail"].startswith("Backend not ready") for e in events)
    end = events[-1]
    assert end["event"] == "session_end" and end["outcome"] == "summary"
    sent = end["sources"]["system"]["sent_frames"]
    # 2 s of streaming is 100 frames (audio captured just before the ack is sent too); far from the
    # whole 8 s file, and not cut short by the 5 s the model took to load
    assert 98 <= sent <= 150, sent


def test_a_truncated_wav_is_a_usage_error_not_a_short_clean_run(tmp_path: Path) -> None:
    from sessionkit import bursts, write_wav

    path = write_wav(tmp_path / "cut.wav", bursts(3.0, 440.0)[0])
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)  # a download cut off halfway
    result = headless("--embedded-recognizer", "simulated", "--replay-system", str(path),
                      "--log-file", str(tmp_path / "h.log"), timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "is truncated: its header promises 3.0 s of audio but it holds 1.5 s" in lines[0]
