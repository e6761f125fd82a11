"""Headless mode: stream without a window and print the session as JSON lines.

``python -m app --headless ...`` (via app.main) or ``python -m app.headless ...``; the options are in
``app.headless.cli``. Every session event becomes one JSON object with an ``event`` field (state,
status, metrics, transcript, level, reconnect, summary, warning, error, throttle; see
``app.headless.events``) and the run closes with ``session_end`` (per-source frames captured, sent,
dropped, shed, skipped and never sent by the client, server-reported drops, reconnects, the stop
outcome). ``--duration`` counts streaming time, from the backend's streaming ack. SIGINT/SIGTERM stop
gracefully (flush, stop, summary); a second signal cancels. Exit 0 on a clean session (summary
received); otherwise a non-zero code and ONE line on stderr; details go to the log file. An events
file that could not be written whole (a full disk) does not stop the session; it is said on stderr
in one more line (``app.headless.events_file``), whatever the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

from app.capture.source import AudioSource
from app.core.endpoint import (
    check_token_transport,
    insecure_token_warning,
    parse_endpoint,
    sends_token_in_clear,
)
from app.core.messages import Source
from app.core.session_state import (
    ConnectionState,
    SessionEnded,
    SessionEvent,
    SessionWarning,
    StateChanged,
    StopOutcome,
)
from app.core.settings import AudioEncoding, SourceSelection
from app.errors import ConfigError, EchoPanelError
from app.headless.cli import build_parser, read_token, validate
from app.headless.events_file import EventsFile
from app.headless.meeting import begin_meeting, close_history, open_history
from app.history.live import LiveMeeting
from app.logs import HEADLESS_LOG_NAME, Redactor, setup_logging
from app.session import Session
from app.session.config import SessionConfig

log = logging.getLogger("app.headless")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_SUMMARY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed a one-line usage error
        return int(exc.code or 0)
    logs = setup_logging(args.log_level, HEADLESS_LOG_NAME, path=args.log_file, stderr=False)
    try:
        return asyncio.run(_run(args, logs.redactor))
    except EchoPanelError as exc:
        log.error("headless run failed: %s", exc)
        _one_line(str(exc))
        return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILED
    except KeyboardInterrupt:
        _one_line("Interrupted.")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line for people, the traceback for the log
        log.exception("unexpected failure in headless mode")
        _one_line(f"Unexpected error: {type(exc).__name__}: {exc} (see the log file)")
        return EXIT_FAILED


async def _run(args: argparse.Namespace, redactor: Redactor) -> int:
    validate(args)
    token = redactor.add(read_token(args, sys.stdin, os.environ))
    if args.server != "embedded":  # before anything starts: no token in clear text unless allowed
        check_token_transport(parse_endpoint(args.server), token, args.allow_insecure)
    sources = _make_sources(args)
    out = EventsFile(args.events) if args.events is not None else None
    write = out.write if out is not None else _discard
    embedded: Any = None
    history = await open_history(args)
    meeting: LiveMeeting | None = None
    try:
        if args.server == "embedded":
            embedded = await _start_embedded(args.embedded_recognizer, token)
            url, token = embedded.ws_url, redactor.add(embedded.token)
        else:
            url = args.server
        encoding = AudioEncoding(args.encoding) if args.encoding else AudioEncoding.AUTO
        config = SessionConfig(endpoint=parse_endpoint(url), token=token, encoding=encoding,
                               throttle=args.throttle == "on", summary_timeout=args.summary_timeout,
                               health_wait_seconds=90.0 if embedded else 30.0,
                               allow_insecure_token=args.allow_insecure)
        if sends_token_in_clear(config.endpoint, token):
            log.warning("%s", insecure_token_warning(config.endpoint))
            write(SessionWarning(0.0, insecure_token_warning(config.endpoint)))
        session = Session(config, sources, listener=write)
        names = tuple(s.source.value for s in sources)
        meeting = begin_meeting(history, session, args, "embedded" if embedded else url, names)
        if meeting is not None and out is not None:
            out.end_extra["meeting_id"] = meeting.recorder.meeting_id
        try:
            ended = await _run_session(session, args.duration)
        finally:
            if meeting is not None:
                await meeting.finish(ended=session.ended)
    finally:
        await close_history(history)
        if embedded is not None:
            await asyncio.get_running_loop().run_in_executor(None, embedded.stop)
        if out is not None:
            out.close()
    if out is not None and out.problem():  # the session's own outcome stands; the file's is said too
        log.error("%s", out.problem())
        _one_line(out.problem())
    return _exit_code(ended)


async def _run_session(session: Session, duration: float | None) -> SessionEnded:
    loop = asyncio.get_running_loop()
    task = session.start()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            log.info("signal: stopping gracefully")
            session.request_stop()
        else:
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows loops
            loop.add_signal_handler(sig, on_signal)
    timer: asyncio.TimerHandle | None = None

    def start_clock(event: SessionEvent) -> None:
        """``--duration`` counts streaming time: from the first streaming ack, not from process start
        (loading the embedded model can take seconds)."""
        nonlocal timer
        if duration and timer is None and isinstance(event, StateChanged) \
                and event.state is ConnectionState.STREAMING:
            timer = loop.call_later(duration, session.request_stop)

    session.add_listener(start_clock)
    try:
        return await task
    except asyncio.CancelledError:  # second signal: the session task was cancelled
        if session.ended is None:
            raise KeyboardInterrupt from None
        return session.ended
    finally:
        if timer is not None:
            timer.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def _exit_code(ended: SessionEnded) -> int:
    if ended.outcome is StopOutcome.SUMMARY:
        return EXIT_OK
    if ended.outcome is StopOutcome.CANCELLED:
        _one_line(ended.message or "Cancelled.")
        return EXIT_INTERRUPTED
    _one_line(ended.message or "The session failed.")
    return EXIT_NO_SUMMARY if ended.outcome is StopOutcome.NO_SUMMARY else EXIT_FAILED


def _make_sources(args: argparse.Namespace) -> list[AudioSource]:
    from app.capture.replay import ReplaySource  # replay needs no audio devices

    replays = {Source.SYSTEM: args.replay_system, Source.MIC: args.replay_mic}
    if args.source is not None:
        wanted = SourceSelection(args.source).sources
    elif any(replays.values()):
        wanted = tuple(s for s, path in replays.items() if path is not None)
    else:
        wanted = SourceSelection.BOTH.sources
    sources: list[AudioSource] = []
    for src in wanted:
        if replays[src] is not None:
            sources.append(ReplaySource(src, replays[src], realtime=True))
        else:
            from app.capture.live import LiveSource  # loads PortAudio only when live capture is wanted

            sources.append(LiveSource(src))
    return sources


async def _start_embedded(recognizer: str, token: str) -> Any:
    """The built-in backend in its own child process (app.backend.process), with the user's token if
    one was given, else a random one."""
    from app.backend.process import BackendProcess

    backend = BackendProcess(recognizer, token=token)
    await asyncio.get_running_loop().run_in_executor(None, backend.start)
    return backend


def _discard(event: SessionEvent) -> None:
    """No --events: nothing to write."""


def _one_line(message: str) -> None:
    text = " ".join(message.split()) or "Failed."
    print(f"echopanel-companion: {text}", file=sys.stderr)

