"""Headless mode: where its log goes, and the access token: never in a log line, an event or stderr."""

from __future__ import annotations

from pathlib import Path

from test_headless_cli import headless

from app.core.messages import Source

SECRET = "tok-6d1c0a7e-only-for-the-backend"


def test_a_debug_session_leaves_the_token_in_no_log_event_or_stderr(
    wavs: dict[Source, Path], tmp_path: Path
) -> None:
    """websockets logs every header of the upgrade at DEBUG (client and, in this process, the embedded
    backend's server side): the values must reach the log file redacted."""
    log, events = tmp_path / "h.log", tmp_path / "events.jsonl"
    result = headless("--embedded-recognizer", "simulated", "--replay-mic", str(wavs[Source.MIC]),
                      "--events", str(events), "--log-file", str(log), "--log-level", "DEBUG",
                      env={"ECHOPANEL_TOKEN": SECRET})
    assert result.returncode == 0, result.stderr
    logged = "".join(p.read_text(encoding="utf-8") for p in sorted(tmp_path.glob("h.log*")))
    assert "> Authorization: Bearer [redacted]" in logged  # the header lines were logged, hidden
    assert "> x-echopanel-token: [redacted]" in logged
    assert " DEBUG websockets.client: " in logged  # the level took effect
    for where, text in (("log", logged), ("stderr", result.stderr), ("stdout", result.stdout),
                        ("events", events.read_text(encoding="utf-8"))):
        assert SECRET not in text, where


def test_the_headless_log_goes_to_the_user_log_directory_the_readme_names(tmp_path: Path) -> None:
    """README: the per-user log directory, ~/.local/state/EchoPanel Companion/log/ on Linux."""
    result = headless("--replay-system", str(tmp_path / "missing.wav"),
                      env={"XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}, timeout=30)
    assert result.returncode == 2
    log = tmp_path / "state" / "EchoPanel Companion" / "log" / "headless.log"
    assert "missing.wav" in log.read_text(encoding="utf-8")
