"""Median wall time from starting the app to its first window, as a user starts it.

    python packaging/measure_startup.py [--runs N] [--self-test] -- COMMAND [ARGS...]
    python packaging/measure_startup.py --runs 5 -- dist/echopanel-companion/echopanel-companion
    python packaging/measure_startup.py --runs 5 -- .venv/bin/python -m app      # the source tree

Each run starts COMMAND offscreen (QT_QPA_PLATFORM=offscreen) with a fresh home folder (so a first
start: new settings, a new history database; the first-run check opens after the window) and
ECHOPANEL_REPORT_FIRST_SHOW=1, times it to the app's ``first-window-shown`` stderr line (printed once
the window's first frame is painted; builds before issue 17's start-up work printed it at the first
turn of the event loop), then stops it with SIGTERM (the app's ordered shutdown) and waits for it to
exit before the next run. The clock is this script's, so the bootloader and interpreter start-up are
included. ``--self-test`` times ``COMMAND --self-test`` to its first state line instead (the window
path without settings, history, keyring or devices; what ``bundle.sh --measure`` timed before).
Used by ``packaging/bundle.sh --measure N``. Exit 1 if a run shows no window within 60 s.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

WINDOW_MARKER = b"first-window-shown"
SELF_TEST_MARKER = b"self-test idle:"
TIMEOUT_S = 60.0


def one_run(command: list[str], self_test: bool) -> float:
    """Seconds from spawning ``command`` to its marker line."""
    home = tempfile.mkdtemp(prefix="echopanel-startup-")
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "XDG_RUNTIME_DIR": home, "LANG": "C.UTF-8",
           "QT_QPA_PLATFORM": "offscreen", "ECHOPANEL_REPORT_FIRST_SHOW": "1"}
    marker = SELF_TEST_MARKER if self_test else WINDOW_MARKER
    master, slave = pty.openpty()  # stdout on a pty: the self-test's lines are not block-buffered
    t0 = time.monotonic()
    proc = subprocess.Popen([*command, *(["--self-test"] if self_test else [])], stdout=slave,
                            stderr=subprocess.PIPE, env=env)
    os.close(slave)
    assert proc.stderr is not None
    bufs = {master: b"", proc.stderr.fileno(): b""}
    open_fds, seen = set(bufs), None
    try:
        while open_fds and seen is None and time.monotonic() - t0 < TIMEOUT_S:
            for fd in select.select(list(open_fds), [], [], 1.0)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    open_fds.discard(fd)
                    continue
                bufs[fd] += chunk
                if seen is None and marker in bufs[fd]:
                    seen = time.monotonic() - t0
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the window path runs until asked to quit
        try:
            proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    finally:
        os.close(master)
        shutil.rmtree(home, ignore_errors=True)  # the app's config, logs, history and caches from this run
    if seen is None:
        err = bufs[proc.stderr.fileno()].decode(errors="replace")
        sys.exit(f"startup: the app showed no window line; exit {proc.returncode}; stderr:\n{err[-2000:]}")
    return seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--self-test", action="store_true", help="time COMMAND --self-test instead")
    parser.add_argument("command", nargs="+", help="the app: the bundle's executable, or python -m app")
    args = parser.parse_args(argv)
    times = [one_run(args.command, args.self_test) for _ in range(args.runs)]
    what = "the self-test's first state" if args.self_test else "first window painted"
    print(f"startup to {what}, {args.runs} runs: median {statistics.median(times):.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}; {' '.join(f'{t:.3f}' for t in times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
