"""The one thread that writes the history database.

Execution contexts: ``submit`` and ``call`` are for the event-loop thread (or any thread) and never
block; everything else runs on the writer's own thread, which owns the only writing connection.

Durability: operations run inside a transaction that is committed ``commit_interval`` seconds (1 s)
after its first operation, so what was submitted is on disk within 2 s even while operations keep
coming; ``flush()`` commits now. A crash or ``kill -9`` therefore loses at most the last 2 s.

The hand-off is bounded (``capacity`` operations, by default 10 000: many minutes of a meeting's
writes, which come a few per second). When it is full, because the disk stalled for that long, new
operations are dropped, counted in ``dropped`` and logged; a failed commit is rolled back, counted in
``failures`` and its error kept in ``last_error``, and the writer goes on with the next operations.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.history.schema import HistoryError, connect

log = logging.getLogger(__name__)

COMMIT_INTERVAL = 1.0
CAPACITY = 10_000
Operation = Callable[[sqlite3.Connection], Any]


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


class _Call:
    def __init__(self, op: Operation, future: concurrent.futures.Future[Any]) -> None:
        self.op = op
        self.future = future


_STOP = object()


class HistoryWriter:
    """``start()`` opens and migrates the file (raises ``HistoryError``); ``close()`` stops."""

    def __init__(self, path: Path, *, commit_interval: float = COMMIT_INTERVAL,
                 capacity: int = CAPACITY) -> None:
        self.path = path
        self._interval = commit_interval
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        self.dropped = 0
        self.failures = 0
        self.last_error = ""
        self.commits = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()
        self._opened.wait()
        if self._open_error is not None:
            self._thread.join()
            self._thread = None
            if isinstance(self._open_error, HistoryError):
                raise self._open_error
            raise HistoryError(f"The meeting history {self.path} cannot be opened: {self._open_error}.")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, op: Operation) -> bool:
        """Queue ``op`` (it runs on the writer thread, inside the current transaction). Never blocks;
        ``False`` when the hand-off is full or the writer is closed (the op is dropped and counted)."""
        if not self.running:
            self.dropped += 1
            return False
        try:
            self._queue.put_nowait(op)
            return True
        except queue.Full:
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.error("history: the writer is %d operations behind; dropped %d", self._queue.qsize(),
                          self.dropped)
            return False

    def call(self, op: Operation) -> concurrent.futures.Future[Any]:
        """Run ``op`` and commit at once; the future gets its result (or exception) once committed."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if not self.running:
            future.set_exception(HistoryError("The meeting history is not available."))
            return future
        try:
            self._queue.put_nowait(_Call(op, future))
        except queue.Full:
            self.dropped += 1
            future.set_exception(HistoryError("The meeting history is busy; try again in a moment."))
        return future

    def flush(self, wait: bool = True, timeout: float = 10.0) -> bool:
        """Commit what was submitted so far; with ``wait``, return once it is on disk (``False`` on
        timeout)."""
        marker = _Flush()
        if not self.running:
            return True
        try:
            if wait:
                self._queue.put(marker, timeout=timeout)
            else:
                self._queue.put_nowait(marker)
        except queue.Full:
            return False
        return marker.done.wait(timeout) if wait else True

    def close(self, timeout: float = 10.0) -> None:
        """Commit everything queued and close the connection (blocks: call it off the UI thread)."""
        thread = self._thread
        if thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            log.error("history: could not stop the writer in %.0f s", timeout)
        thread.join(timeout)
        self._thread = None

    # ------------------------------------------------------------------ the writer thread

    def _run(self) -> None:
        try:
            conn = connect(self.path, writer=True)
        except BaseException as exc:
            self._open_error = exc
            self._opened.set()
            return
        self._opened.set()
        try:
            self._loop(conn)
        finally:
            conn.close()

    def _loop(self, conn: sqlite3.Connection) -> None:
        deadline: float | None = None  # when the open transaction must be committed
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is _STOP:
                self._commit(conn)
                return
            if isinstance(item, _Flush):
                self._commit(conn)
                deadline = None
                item.done.set()
                continue
            if isinstance(item, _Call):
                self._call(conn, item)
                deadline = None
                continue
            if item is not None:
                if not conn.in_transaction:
                    conn.execute("BEGIN")
                    deadline = time.monotonic() + self._interval
                self._apply(conn, item)
            if deadline is not None and time.monotonic() >= deadline:
                self._commit(conn)
                deadline = None

    def _call(self, conn: sqlite3.Connection, call: _Call) -> None:
        if not call.future.set_running_or_notify_cancel():
            return
        if not conn.in_transaction:
            conn.execute("BEGIN")
        conn.execute("SAVEPOINT call")
        try:
            result = call.op(conn)
            conn.execute("RELEASE call")
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK TO call")
                conn.execute("RELEASE call")
            self._commit(conn)
            call.future.set_exception(exc)
            return
        if self._commit(conn):
            call.future.set_result(result)
        else:
            problem = f"The meeting history could not be saved: {self.last_error}"
            call.future.set_exception(HistoryError(problem))

    def _apply(self, conn: sqlite3.Connection, op: object) -> None:
        conn.execute("SAVEPOINT op")
        try:
            assert callable(op)
            op(conn)
            conn.execute("RELEASE op")
        except Exception as exc:  # one bad write must not stop the others (nor leave half of itself)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
            self.failures += 1
            self.last_error = str(exc)
            log.exception("history: a write failed")

    def _commit(self, conn: sqlite3.Connection) -> bool:
        if not conn.in_transaction:
            return True
        try:
            conn.execute("COMMIT")
            self.commits += 1
            return True
        except sqlite3.Error as exc:
            self.failures += 1
            self.last_error = str(exc)
            log.error("history: commit failed (%s); the last second of writes is lost", exc)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.debug("history: rollback after a failed commit failed", exc_info=True)
            return False
