"""``python -m app.backend``: run the reference backend until Ctrl-C or SIGTERM.

The first line on stdout is ``listening on <ws url>`` for the first address really bound (with
``--port 0`` the port picked; with a host name, the address it resolved to); further addresses follow
as ``also listening on <ws url>``. With ``--parent-watch`` it also stops when its standard input
closes: the app that started it (``app.backend.process``) exited, crashed or was killed; and
``--nice N`` lowers its CPU priority first (before any thread starts, so every thread has it).
Listening on a non-loopback address without a token prints a warning on stderr (and logs it).
SIGTERM closes live sessions with 1012, as the real server does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from app.backend.config import (
    FIDELITIES,
    FINALS,
    RECOGNIZERS,
    WS_PATH,
    BackendConfig,
    parse_schedule,
    parse_source_rtf,
)
from app.backend.server import ReferenceBackend, url_host
from app.errors import ConfigError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m app.backend",
        description="The EchoPanel reference backend (live-listener protocol v0.2), for development "
        "and demos.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--token", default=os.environ.get("ECHOPANEL_WS_AUTH_TOKEN", ""),
                   help="required client token (default $ECHOPANEL_WS_AUTH_TOKEN; empty = open)")
    p.add_argument("--recognizer", choices=RECOGNIZERS, default="pocketsphinx")
    p.add_argument("--fidelity", choices=FIDELITIES, default="faithful",
                   help="faithful: behave like the real EchoPanel server under load (default); "
                   "ideal: the earlier idealised backend (100 ms pulls, no degrade ladder)")
    p.add_argument("--rtf", type=float, default=0.3, help="simulated recognizer's real-time factor (0.3)")
    p.add_argument("--source-rtf", action="append", default=[], metavar="SOURCE=RTF",
                   help="a source's own RTF instead of --rtf, e.g. mic=0.3 (repeatable)")
    p.add_argument("--schedule", default="", metavar="RTF@SECONDS,...",
                   help="change the RTF at given seconds into each session, e.g. 1.6@30,0.5@75")
    p.add_argument("--schedule-epoch", type=float, default=None, metavar="UNIX_SECONDS",
                   help="count the schedule's seconds from this wall-clock time (seconds since the Unix "
                   "epoch) instead of from each session's start: a restarted backend continues an episode")
    p.add_argument("--chunk-seconds", type=float, default=2.0,
                   help="audio the recognizer takes at a time (2.0 s, as the real server)")
    p.add_argument("--shared-recognizer", action="store_true",
                   help="one recognizer for both sources of a session, one chunk at a time, "
                   "in the order chunks became ready")
    p.add_argument("--queue-seconds", type=float, default=2.0, help="per-source queue (2.0 s)")
    p.add_argument("--max-sessions", type=int, default=10)
    p.add_argument("--record-dir", type=Path, default=None,
                   help="write received and processed audio here as WAV")
    p.add_argument("--load-seconds", type=float, default=0.0,
                   help="simulated recognizer: pretend the model takes this long to load")
    p.add_argument("--finals", choices=FINALS, default="regions",
                   help="simulated recognizer: one final per speech region, none for silence, as the real "
                   "server's Whisper providers (regions, default); or one per chunk covering it, silence "
                   "too, as the stub the real server was measured with (chunks: its degrade ladder then "
                   "says 'buffering' at about 10.6 s of a healthy session, like the measured runs)")
    p.add_argument("--start-timeout", type=float, default=10.0,
                   help="close connections that send no start within this many seconds (10)")
    p.add_argument("--flush-timeout", type=float, default=8.0,
                   help="longest wait for the recognizer after stop, as the real server (8 s)")
    p.add_argument("--parent-watch", action="store_true",
                   help="stop when standard input closes (the built-in backend: its app has gone)")
    p.add_argument("--nice", type=int, default=0, metavar="N",
                   help="lower this process's CPU priority by N (POSIX niceness; the built-in backend: "
                   "the app's window gets the CPU first)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.nice > 0:
        lower_priority(args.nice)
    try:
        config = BackendConfig(
            host=args.host, port=args.port, token=args.token, recognizer=args.recognizer,
            fidelity=args.fidelity, rtf=args.rtf, source_rtf=parse_source_rtf(args.source_rtf),
            schedule=parse_schedule(args.schedule), schedule_epoch=args.schedule_epoch,
            chunk_seconds=args.chunk_seconds,
            shared_recognizer=args.shared_recognizer, queue_seconds=args.queue_seconds,
            max_sessions=args.max_sessions, record_dir=args.record_dir, load_seconds=args.load_seconds,
            finals=args.finals,
            start_timeout=args.start_timeout, flush_timeout=args.flush_timeout,
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(  # as a child, its lines go to the app's log, which has the time already
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=("" if args.parent_watch else "%(asctime)s ") + "%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("app.backend.websockets").setLevel(logging.WARNING)
    try:
        return asyncio.run(_serve(config, parent_watch=args.parent_watch))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130


def lower_priority(increment: int) -> None:
    """Add ``increment`` to this process's niceness (POSIX; elsewhere, and where refused, nothing:
    the parent set a lower priority class on Windows). On Linux each thread has its own niceness and
    threads started at import (numpy's BLAS pool) keep theirs: they are lowered one by one too."""
    try:
        niceness = os.nice(increment)
    except (AttributeError, OSError):
        return
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return
    for task in tasks.iterdir():
        with contextlib.suppress(OSError, ValueError):  # a thread that just ended
            os.setpriority(os.PRIO_PROCESS, int(task.name), niceness)


def watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set ``stop`` when standard input reaches end of file (a thread: portable, and it only blocks).
    The parent never writes; its end closes when it exits for any reason."""

    def wait_for_eof() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(4096):
                pass
        with contextlib.suppress(RuntimeError):  # the loop already closed
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, name="parent-watch", daemon=True).start()


async def _serve(config: BackendConfig, *, parent_watch: bool = False) -> int:
    backend = ReferenceBackend(config)
    try:
        await backend.start()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for i, (host, port) in enumerate(backend.listen_addresses):
        prefix = "listening on" if i == 0 else "also listening on"
        print(f"{prefix} ws://{url_host(host)}:{port}{WS_PATH}", flush=True)
    if config.token:
        print("clients must send the token (Authorization: Bearer or x-echopanel-token)", flush=True)
    elif backend.exposed:
        print("WARNING: listening on a non-loopback address WITHOUT a token: anyone who can reach "
              "this port can stream audio and read transcripts. Set --token (or "
              "ECHOPANEL_WS_AUTH_TOKEN), or listen on 127.0.0.1.", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, AttributeError):  # Windows: Ctrl-C still works
            loop.add_signal_handler(sig, stop.set)
    if parent_watch:
        watch_stdin(loop, stop)
    try:
        await stop.wait()
    finally:
        await backend.stop()
    logging.getLogger("app.backend").info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
