"""Where headless mode writes its events (``--events FILE`` or ``-`` for stdout): one JSON line per
event, each written whole or counted as lost, so a full disk never stops the session.

Each line goes out with unbuffered ``os.write`` calls (a buffered file would retry a failed line with
the next one, duplicating or tearing it). When a write fails (ENOSPC, EFBIG, EIO...), the line is
counted as lost, the first failure is logged, and the session goes on; a line torn by a partial write
is cut off again (``ftruncate`` to the end of the last whole line) where the target allows it, else
the next line starts on a new one. Later lines are still attempted (space may come back). When the
session ends, a ``warning`` line saying how many events are missing, and why, goes before
``session_end``; ``problem()`` then says what the user must know, in one line: that the file is
incomplete, and whether even ``session_end`` is missing. Event-loop thread only.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from app.core.session_state import SessionEnded, SessionEvent
from app.errors import ConfigError
from app.headless.events import EventStream

log = logging.getLogger(__name__)

Write = Callable[[int, bytes], int]


class EventsFile:
    """``write(event)`` is a session listener; ``close()`` at the end; ``problem()`` if lines were lost."""

    def __init__(self, target: str, *, write: Write = os.write) -> None:
        """``target``: a path, or "-" for stdout. ``write``: ``os.write``; tests inject failures only
        where a real failing file cannot be made."""
        self.target = target
        self._write = write
        self._stream = EventStream()
        self._own_fd = target != "-"
        try:
            if self._own_fd:
                self._fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0),
                                   0o666)
            else:
                sys.stdout.flush()
                self._fd = sys.stdout.fileno()
        except OSError as exc:
            raise ConfigError(f"Cannot write events to {target!r}: {exc.strerror or exc}.") from None
        self._good = 0  # bytes up to the end of the last whole line
        self._torn = False  # a partial line is in the file and could not be cut off
        self.lines = 0  # event lines attempted (not counting our own warning)
        self.lost = 0  # lines that could not be written
        self._reason = ""  # the first failure, for messages
        self.end_written = False
        self.end_extra: dict[str, Any] = {}  # fields added to session_end (the history's meeting_id)

    def write(self, event: SessionEvent) -> None:
        for body in self._stream.feed(event):
            self.lines += 1
            if isinstance(event, SessionEnded) and body["event"] == "session_end":
                body.update(self.end_extra)
                if self.lost:
                    self._line(self._incomplete_warning(body["t"]))
            written = self._line(body)
            if body["event"] == "session_end":
                self.end_written = written

    def close(self) -> None:
        if self._own_fd:
            try:
                os.close(self._fd)
            except OSError as exc:  # a deferred write error (NFS): the data may be missing
                self._fail(exc)

    def problem(self) -> str:
        """One line for the user if the file is incomplete, else ""."""
        if not self.lost:
            return ""
        where = "standard output" if not self._own_fd else self.target
        end = ("session_end and a warning saying so were written" if self.end_written
               else "even session_end could not be written")
        return (f"The events file {where} is incomplete: {self.lost} of {self.lines} events could not be "
                f"written ({self._reason}); {end}.")

    # ------------------------------------------------------------------ internals

    def _incomplete_warning(self, t: float) -> dict[str, Any]:
        return {"event": "warning", "t": t,
                "message": f"{self.lost} earlier events could not be written ({self._reason}): this events "
                           "file is incomplete."}

    def _line(self, body: dict[str, Any]) -> bool:
        """Write one whole line; False (counted, logged once) if it could not be."""
        data = (json.dumps(body, ensure_ascii=False, default=str) + "\n").encode("utf-8", "replace")
        if self._torn:
            data = b"\n" + data
        done = 0
        try:
            while done < len(data):
                n = self._write(self._fd, data[done:])
                if n <= 0:
                    raise OSError(f"the write returned {n}")
                done += n
        except OSError as exc:
            self._fail(exc)
            if done:
                self._cut(done)
            return False
        self._good += done
        self._torn = False
        return True

    def _cut(self, partial: int) -> None:
        """Remove a partial line: truncate to the last whole line in a file we opened (stdout may be a
        file with earlier content, a pipe or a terminal: there the next line starts on a new one)."""
        try:
            if not self._own_fd:
                raise OSError("not our file to truncate")
            os.ftruncate(self._fd, self._good)
            os.lseek(self._fd, self._good, os.SEEK_SET)
        except OSError:
            self._good += partial
            self._torn = True

    def _fail(self, exc: OSError) -> None:
        self.lost += 1
        if not self._reason:
            self._reason = exc.strerror or str(exc) or type(exc).__name__
            log.error("cannot write to the events file %s (%s); the session goes on, lines are counted as "
                      "lost", self.target, self._reason)
