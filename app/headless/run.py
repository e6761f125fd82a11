"""Headless mode: stream without a window and print the session as JSON lines.

``python -m app --headless ...`` (via app.main) or ``python -m app.headless ...``; the options are in
``app.headless.cli``. Every session event becomes one JSON object with an ``event`` field (state,
status, metrics, transcript, level, reconnect, summary, warning, error, throttle; see
``app.headless.events``) and the run closes with ``session_end`` (per-source frames captured, sent,
dropped, shed, skipped and never sent by the client, server-reported drops, reconnects, the stop
outcome). ``--duration`` counts streaming time, from the backend's streaming ack. SIGINT/SIGTERM stop
gracefully (flush, stop, summary); a second signal cancels. Exit 0 on a clean session (summary
received); otherwise a non-zero code and ONE line on stderr; details go to the log file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from app.capture.source import AudioSource
from app.core.endpoint import parse_endpoint
from app.core.messages import Source
from app.core.session_state import ConnectionState, SessionEnded, SessionEvent, StateChanged, StopOutcome
from app.core.settings import AudioEncoding, SourceSelection
from app.errors import ConfigError, EchoPanelError
from app.headless.cli import build_parser, validate
from app.headless.events import event_to_json
from app.headless.meeting import begin_meeting, close_history, open_history
from app.history.live import LiveMeeting
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
    _setup_logging(args.log_file)
    try:
        return asyncio.run(_run(args))
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


async def _run(args: argparse.Namespace) -> int:
    validate(args)
    token = args.token if args.token is not None else os.environ.get("ECHOPANEL_TOKEN", "")
    sources = _make_sources(args)
    out = _open_events(args.events)
    embedded: Any = None
    history = await open_history(args)
    meeting: LiveMeeting | None = None
    try:
        if args.server == "embedded":
            embedded = await _start_embedded(args.embedded_recognizer, token)
            url = embedded.ws_url
        else:
            url = args.server
        encoding = AudioEncoding(args.encoding) if args.encoding else AudioEncoding.AUTO
        config = SessionConfig(endpoint=parse_endpoint(url), token=token, encoding=encoding,
                               throttle=args.throttle == "on", summary_timeout=args.summary_timeout,
                               health_wait_seconds=90.0 if embedded else 30.0)
        session = Session(config, sources, listener=_writer(out, lambda: meeting))
        names = tuple(s.source.value for s in sources)
        meeting = begin_meeting(history, session, args, "embedded" if embedded else url, names)
        try:
            ended = await _run_session(session, args.duration)
        finally:
            if meeting is not None:
                await meeting.finish(ended=session.ended)
    finally:
        await close_history(history)
        if embedded is not None:
            await asyncio.get_running_loop().run_in_executor(None, embedded.stop)
        if out not in (None, sys.stdout):
            assert out is not None
            out.close()
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
    from app.backend import BackendConfig, EmbeddedBackend

    backend = EmbeddedBackend(BackendConfig(host="127.0.0.1", port=0, token=token, recognizer=recognizer))
    await asyncio.get_running_loop().run_in_executor(None, backend.start)
    return backend


def _open_events(target: str | None) -> IO[str] | None:
    if target is None:
        return None
    if target == "-":
        return sys.stdout
    try:
        return open(target, "w", encoding="utf-8", buffering=1)
    except OSError as exc:
        raise ConfigError(f"Cannot write events to {target!r}: {exc.strerror or exc}.") from None


def _writer(out: IO[str] | None, meeting: Callable[[], LiveMeeting | None]) -> Callable[[Any], None]:
    def write(event: Any) -> None:
        if out is not None:
            current = meeting()
            extra = None
            if current is not None and isinstance(event, SessionEnded):
                extra = {"meeting_id": current.recorder.meeting_id}
            out.write(event_to_json(event, extra) + "\n")
            out.flush()

    return write


def _setup_logging(path: Path | None) -> None:
    if path is None:
        import platformdirs

        path = Path(platformdirs.user_log_dir("echopanel-companion")) / "headless.log"
    handler: logging.Handler
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()  # no log file is no reason to fail the run
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def _one_line(message: str) -> None:
    text = " ".join(message.split()) or "Failed."
    print(f"echopanel-companion: {text}", file=sys.stderr)

