"""The headless command line: its options and the checks that need no I/O.

``build_parser`` describes every option (``--help`` prints them); ``validate`` turns values argparse
cannot check into one-line ``ConfigError``s before anything starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.core.endpoint import parse_endpoint
from app.core.settings import SourceSelection
from app.errors import ConfigError

DESCRIPTION = "Headless mode: stream without a window and print the session as JSON lines."


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="echopanel-companion --headless", description=DESCRIPTION)
    p.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--server", default="embedded",
                   help='backend URL, or "embedded" (default) for the built-in one')
    p.add_argument("--embedded-recognizer", choices=("pocketsphinx", "simulated"), default="pocketsphinx")
    p.add_argument("--token", default=None, help="access token (default: $ECHOPANEL_TOKEN)")
    p.add_argument("--source", choices=[s.value for s in SourceSelection], default=None,
                   help="what to capture (default both; with --replay-* only the replayed sources)")
    p.add_argument("--replay-system", type=Path, metavar="WAV", help="replay this WAV as system audio")
    p.add_argument("--replay-mic", type=Path, metavar="WAV", help="replay this WAV as the microphone")
    p.add_argument("--duration", type=float, metavar="SECONDS",
                   help="stop after streaming this long, counted from the backend's streaming ack "
                        "(model loading, health check and connecting do not count)")
    p.add_argument("--encoding", choices=("binary", "json"), default=None,
                   help="audio frames as binary v1 or JSON (default: binary for local hosts)")
    p.add_argument("--throttle", choices=("on", "off"), default="off", help="adaptive throttling")
    p.add_argument("--events", metavar="FILE", help='write JSON-lines events here ("-" for stdout)')
    p.add_argument("--summary-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--log-file", type=Path, default=None, help="log file (default: the user log directory)")
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
        parse_endpoint(args.server)  # a bad URL is a one-line ConfigError before anything starts
