"""Headless mode: where its log goes, and the access token: never in a log line, an event or stderr."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
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


def _token_backend() -> Any:
    from app.backend import BackendConfig, EmbeddedBackend

    backend = EmbeddedBackend(BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", token=SECRET))
    backend.start()
    return backend


def test_token_from_a_file_and_from_stdin_keeps_it_out_of_the_command_line(
    wavs: dict[Source, Path], tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{SECRET}\nsecond line ignored\n", encoding="utf-8")
    backend = _token_backend()
    try:
        common = ("--server", backend.ws_url, "--replay-mic", str(wavs[Source.MIC]),
                  "--log-file", str(tmp_path / "h.log"))
        from_file = headless(*common, "--token-file", str(token_file), env={"ECHOPANEL_TOKEN": "wrong"})
        from_stdin = headless(*common, "--token", "-", input=f"{SECRET}\n", env={"ECHOPANEL_TOKEN": "wrong"})
    finally:
        backend.stop()
    assert from_file.returncode == 0, from_file.stderr
    assert from_stdin.returncode == 0, from_stdin.stderr


@pytest.mark.parametrize(("make", "expected"), [
    (lambda d: d / "absent", "Cannot read the token file"),
    (lambda d: d, "Is a directory"),
    (lambda d: (d / "empty").write_text("\n") and d / "empty", "is empty"),
])
def test_an_unusable_token_file_is_a_usage_error(make: Any, expected: str, tmp_path: Path) -> None:
    result = headless("--token-file", str(make(tmp_path)), "--log-file", str(tmp_path / "h.log"), timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_an_empty_stdin_for_token_dash_is_a_usage_error(tmp_path: Path) -> None:
    result = headless("--token", "-", "--log-file", str(tmp_path / "h.log"), input="", timeout=30)
    assert result.returncode == 2 and "standard input" in result.stderr


def test_help_names_the_environment_variable_first_and_warns_about_the_process_list() -> None:
    out = headless("--help", timeout=30).stdout
    assert out.index("$ECHOPANEL_TOKEN") < out.index("--token-file PATH  ")
    assert "process list" in out and "--token -" in " ".join(out.split())


def test_a_token_in_clear_text_to_another_computer_is_refused_before_anything_starts(
    wavs: dict[Source, Path], tmp_path: Path
) -> None:
    """192.0.2.1 (TEST-NET-1) over ws://: refused at once, exit 2, nothing is connected to."""
    token_file = tmp_path / "token"
    token_file.write_text(SECRET)
    result = headless("--server", "ws://192.0.2.1:9", "--token-file", str(token_file), "--replay-mic",
                      str(wavs[Source.MIC]), "--log-file", str(tmp_path / "h.log"), timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Refusing to send the access token unencrypted" in lines[0], result.stderr
    assert "--allow-insecure" in lines[0]
    assert "Connecting" not in (tmp_path / "h.log").read_text()


def _this_host_by_a_non_loopback_name() -> tuple[str, str]:
    """This computer's host name and the address it resolves to (often 127.0.1.1 or the LAN address):
    a backend we can reach that the policy, which never resolves names, counts as another computer."""
    from app.core.endpoint import parse_endpoint

    name = socket.gethostname()
    try:
        address = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except OSError:
        pytest.skip(f"this machine's host name {name!r} does not resolve")
    if parse_endpoint(name).is_loopback:
        pytest.skip(f"this machine's host name {name!r} is a loopback name")
    return name, str(address)


def test_allow_insecure_sends_the_token_in_clear_text_and_says_so(
    wavs: dict[Source, Path], tmp_path: Path
) -> None:
    from app.backend import BackendConfig, EmbeddedBackend

    name, address = _this_host_by_a_non_loopback_name()
    token_file = tmp_path / "token"
    token_file.write_text(SECRET)
    backend = EmbeddedBackend(BackendConfig(host=address, port=0, recognizer="simulated", token=SECRET))
    backend.start()
    try:
        url = f"ws://{name}:{backend.port}/ws/live-listener"
        common = ("--server", url, "--token-file", str(token_file), "--replay-mic", str(wavs[Source.MIC]),
                  "--log-file", str(tmp_path / "h.log"), "--events", "-")
        refused = headless(*common, timeout=30)
        allowed = headless(*common, "--allow-insecure")
    finally:
        backend.stop()
    assert refused.returncode == 2 and "unencrypted" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    events = [json.loads(line) for line in allowed.stdout.splitlines()]
    assert events[0]["event"] == "warning" and "sent unencrypted" in events[0]["message"]
    assert events[-1]["event"] == "session_end" and events[-1]["outcome"] == "summary"
