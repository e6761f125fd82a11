"""The headless command line: its options, their checks, and where the token comes from.

``build_parser`` describes every option (``--help`` prints them); ``validate`` turns values argparse
cannot check into one-line ``ConfigError``s before anything starts (no I/O); ``read_token`` reads the
token from a file, stdin, the option or the environment.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from app.core.address import address_problem
from app.core.endpoint import parse_endpoint
from app.core.settings import SourceSelection
from app.errors import ConfigError
from app.logs import LEVELS

DESCRIPTION = (
    "Headless mode: stream without a window and print the session as JSON lines. "
    "The access token comes from $ECHOPANEL_TOKEN, or --token-file, or --token - (standard input). "
    "Avoid --token TOKEN: a value on the command line is visible to every user of this machine in the "
    "process list."
)
EPILOG = (
    "Events: metrics are coalesced per source to at most 2 per second (a line carries the latest values, "
    "dropped_recent summed, and coalesced: how many server messages it stands for), so a flood of server "
    "messages cannot grow the events file without bound. If the events file cannot be written (a full "
    "disk), the session goes on, session_end is still written if possible, and stderr says the file is "
    "incomplete."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="echopanel-companion --headless", description=DESCRIPTION,
                                epilog=EPILOG)
    p.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--server", default="embedded",
                   help='backend URL, or "embedded" (default) for the built-in one')
    p.add_argument("--embedded-recognizer", choices=("pocketsphinx", "simulated"), default="pocketsphinx")
    token = p.add_mutually_exclusive_group()
    token.add_argument("--token-file", type=Path, metavar="PATH",
                       help="read the access token from the first line of this file")
    token.add_argument("--token", default=None, metavar="TOKEN",
                       help='the access token, or "-" to read it from standard input')
    p.add_argument("--allow-insecure", action="store_true",
                   help="allow sending the token unencrypted (ws:// or http://) to a host that is not this "
                        "computer; anyone on the network path can read it. Without this, such a run is "
                        "refused (exit 2)")
    p.add_argument("--source", choices=[s.value for s in SourceSelection], default=None,
                   help="what to capture (default both; with --replay-* only the replayed sources)")
    p.add_argument("--replay-system", type=Path, metavar="WAV", help="replay this WAV as system audio")
    p.add_argument("--replay-mic", type=Path, metavar="WAV", help="replay this WAV as the microphone")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="stop after streaming this long, counted from the backend's streaming ack "
                        "(model loading, health check and connecting do not count)")
    p.add_argument("--encoding", choices=("binary", "json"), default=None,
                   help="audio frames as binary v1 or JSON (default: binary for local hosts)")
    p.add_argument("--throttle", choices=("on", "off"), default="on",
                   help="adaptive throttling (default on, as in the window)")
    p.add_argument("--events", metavar="FILE", help='write JSON-lines events here ("-" for stdout)')
    p.add_argument("--summary-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--log-file", type=Path, default=None,
                   help="log file, rotated at 1 MB (default: headless.log in the user log directory)")
    p.add_argument("--log-level", default="INFO", choices=LEVELS, help="default INFO")
    p.add_argument("--no-history", action="store_true",
                   help="do not keep this session in the meeting history (default: it is kept, as in the "
                        "window; the data folder is $ECHOPANEL_DATA_DIR or the per-user data folder)")
    p.add_argument("--record-audio", action="store_true",
                   help="also keep the captured audio with the meeting, one WAV per source "
                        "(about 115 MB per hour per source)")
    return p


def validate(args: argparse.Namespace) -> None:
    if args.duration is not None and not args.duration > 0:
        raise ConfigError("--duration must be a positive number of seconds.")
    if not args.summary_timeout > 0:
        raise ConfigError("--summary-timeout must be a positive number of seconds.")
    if args.record_audio and args.no_history:
        raise ConfigError("--record-audio keeps the audio with the meeting, so it needs the history: "
                          "drop --no-history.")
    if args.server != "embedded":
        # a bad URL is one ConfigError before anything starts: the parser's own errors first, then
        # the settings dialog's stricter check for what parses but was mistyped (``http//host`` would
        # otherwise be a host named "http" and fail later as a DNS error)
        parse_endpoint(args.server)
        problem = address_problem(args.server)
        if problem:
            raise ConfigError(f"--server: {problem}")


def read_token(args: argparse.Namespace, stdin: TextIO, environ: Mapping[str, str]) -> str:
    """The access token: ``--token-file`` (its first line), ``--token -`` (a line of ``stdin``),
    ``--token VALUE``, else ``$ECHOPANEL_TOKEN``, else none. ``ConfigError`` if the file cannot be
    read or a file or stdin gives nothing (an empty token there is a mistake, not an open server)."""
    if args.token_file is not None:
        path: Path = args.token_file
        try:
            with path.open(encoding="utf-8") as file:
                token = file.readline().strip()
        except OSError as exc:
            raise ConfigError(f"Cannot read the token file {str(path)!r}: {exc.strerror or exc}.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"The token file {str(path)!r} is not UTF-8 text.") from None
        if not token:
            raise ConfigError(f"The token file {str(path)!r} is empty: its first line should be the token.")
        return token
    if args.token == "-":
        token = stdin.readline().strip()
        if not token:
            raise ConfigError("--token - read no token from standard input.")
        return token
    if args.token is not None:
        return str(args.token)
    return environ.get("ECHOPANEL_TOKEN", "")
