"""``BackendProcess``: the built-in backend as a child process of the app, seen from the app.

The recognizer (pocketsphinx) holds the interpreter lock for ~15 ms at a time; in the app's own
process that stalls the window and the audio hand-off. In a child process it cannot.

The child is ``python -m app.backend`` (``<frozen executable> --backend`` inside the bundle) on a
free loopback port (``--port 0``) with a random token (passed in the environment, never on the
command line, which every user of the machine can read), and ``--parent-watch``: it stops when its
standard input closes. The app holds the write end of that pipe and never writes to it, so when
the app exits, crashes or is killed, the operating system closes it and the child shuts down: no
orphan. ``stop()`` closes the pipe itself, then waits, then terminates, then kills.

The child runs at a lower CPU priority than the app (``--nice``; on Windows the below-normal
priority class): the recognizer works in bursts of a whole chunk, and on a busy machine the app's
event loop, woken for a tick or a repaint, waited behind it for a CPU (loop stalls of 50-90 ms, with
the loop itself using under 1 ms of them). The app needs a few % of a core; the recognizer still gets
every cycle the app does not use, and competes with other programs like any background job.

The child's stdout and stderr (one pipe) are read by one thread: the first ``listening on`` line
gives the URL; every line goes to the app's log (the token never appears in them), and the last
lines explain a failed start (``BackendStartError``). Threads: ``start``/``stop`` block, so the app
calls them in an executor; the reader thread only reads, logs and sets two ``threading`` values.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO

from app.errors import EchoPanelError

log = logging.getLogger(__name__)

TOKEN_ENV = "ECHOPANEL_WS_AUTH_TOKEN"
FROZEN_FLAG = "--backend"  # app.main.run dispatches this first argument to app.backend.__main__
LISTENING = "listening on "
TAIL_LINES = 12
BACKGROUND_NICE = 10  # the child's niceness above the app's (POSIX); Windows: BELOW_NORMAL_PRIORITY_CLASS


class BackendStartError(EchoPanelError):
    """The built-in backend's process did not start listening (its own words are in the message)."""


def backend_command(*args: str) -> list[str]:
    """How to run the backend as a child: this interpreter's ``-m app.backend``, or the frozen app."""
    if getattr(sys, "frozen", False):
        return [sys.executable, FROZEN_FLAG, *args]
    return [sys.executable, "-m", "app.backend", *args]


class BackendProcess:
    """The reference backend in a child process. ``start()`` returns once it listens; ``ws_url`` and
    ``token`` are then what a session connects with. It can be started again after ``stop()``."""

    def __init__(self, recognizer: str = "pocketsphinx", *, token: str = "",
                 extra_args: Sequence[str] = (), nice: int = BACKGROUND_NICE) -> None:
        self.recognizer = recognizer
        self.nice = nice
        self.token = token or secrets.token_urlsafe(24)
        self._extra = list(extra_args)
        self._proc: subprocess.Popen[str] | None = None
        self._url = ""
        self._listening = threading.Event()
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._reader: threading.Thread | None = None

    @property
    def ws_url(self) -> str:
        return self._url

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self) -> list[str]:
        return backend_command("--host", "127.0.0.1", "--port", "0", "--recognizer", self.recognizer,
                               "--parent-watch", "--nice", str(self.nice), *self._extra)

    def start(self, timeout: float = 30.0) -> None:
        """Start the child and wait until it listens; ``BackendStartError`` says why it did not."""
        if self.running:
            return
        self._url = ""
        self._listening.clear()
        self._tail.clear()
        env = {**os.environ, TOKEN_ENV: self.token, "PYTHONUNBUFFERED": "1"}
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # Windows: no console window for the child
        if self.nice > 0:  # Windows has no nice: the priority class instead (0 elsewhere)
            flags |= getattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0)
        try:
            proc = subprocess.Popen(
                self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env=env, text=True, encoding="utf-8", errors="replace", creationflags=flags,
                start_new_session=True,  # Ctrl+C in the terminal reaches the app only; it stops us in order
            )
        except OSError as exc:
            raise BackendStartError(f"The built-in backend could not be started: {exc}.") from exc
        self._proc = proc
        assert proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(proc.stdout,),
                                        name="echopanel-backend-output", daemon=True)
        self._reader.start()
        if self._listening.wait(timeout) and self._url:
            log.info("built-in backend process %d listening at %s", proc.pid, self._url)
            return
        code = proc.poll()
        if code is None and self._listening.is_set():  # its output ended: it is exiting
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = proc.wait(5.0)
        self.stop(timeout=5.0)
        said = " / ".join(line for line in self._tail if line) or "nothing"
        if code is None:
            raise BackendStartError(f"The built-in backend did not start within {timeout:g} s "
                                    f"(it said: {said}).")
        raise BackendStartError(f"The built-in backend exited at start (code {code}; it said: {said}).")

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the child to stop (close its stdin), wait; terminate, then kill, if it lingers. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):  # it already exited
                proc.stdin.close()
        for ask in (None, proc.terminate, proc.kill):
            if ask is not None:
                ask()
            try:
                proc.wait(timeout if ask is None else 5.0)
                break
            except subprocess.TimeoutExpired:
                log.warning("built-in backend process %d did not stop; %s", proc.pid,
                            "terminating it" if ask is None else "killing it")
        if self._reader is not None:
            self._reader.join(2.0)
        log.info("built-in backend process %d stopped (exit code %s)", proc.pid, proc.returncode)

    def _read(self, stream: IO[str]) -> None:
        """The reader thread: the URL from the first ``listening on`` line; every line to the log."""
        with stream:
            for raw in stream:
                line = raw.rstrip()
                self._tail.append(line)
                if not self._url and line.startswith(LISTENING):
                    self._url = line.removeprefix(LISTENING).strip()
                    self._listening.set()
                log.info("backend: %s", line)
        self._listening.set()  # exited: start() stops waiting
