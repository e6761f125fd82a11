"""The meeting history of one data folder: ``History.open`` (the database, recovery of meetings whose
writer died, orphan cleanup) and what the front ends use: ``begin`` a meeting, ``recording`` of its
audio, ``reader`` for the list and search, ``delete`` and ``apply_retention``, ``close``.

Layout of the data folder: ``history.sqlite3`` (+ its WAL files), ``recordings/<meeting uid>/`` (the
local audio, if enabled), ``locks/<meeting uid>.lock`` (held while a meeting is recorded).

Threads: ``open`` and ``close`` block (call them at start-up / shutdown, or in an executor);
``begin``, ``delete`` and ``apply_retention`` only queue work for the writer thread (the latter two
return futures); the ``HistoryReader`` blocks for the duration of a query (run it in an executor).
"""

from __future__ import annotations

import concurrent.futures
import logging
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from app.history import queries, store
from app.history.audio import AudioRecorder, repair_wav
from app.history.codec import audio_from_json, audio_to_json
from app.history.ownership import is_alive, lock_path
from app.history.recorder import MeetingRecorder
from app.history.records import AudioFile, MeetingInfo, MeetingRow, StoredMeeting
from app.history.schema import connect
from app.history.writer import HistoryWriter

log = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"
T = TypeVar("T")
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Recovery:
    """A meeting found unfinished at start-up (its app was killed) and marked interrupted."""

    id: int
    started_at: float


class HistoryReader:
    """Read-only queries, each on its own short-lived connection (safe from any thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def list_meetings(self, limit: int | None = None) -> list[MeetingRow]:
        return self._read(lambda c: queries.list_meetings(c, limit))

    def search(self, text: str) -> list[MeetingRow]:
        return self._read(lambda c: queries.search(c, text))

    def load(self, meeting_id: int) -> StoredMeeting | None:
        return self._read(lambda c: queries.load_meeting(c, meeting_id))

    def count(self) -> int:
        return self._read(queries.count_meetings)

    def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        conn = connect(self.path)
        try:
            return query(conn)
        finally:
            conn.close()


class History:
    def __init__(self, folder: Path, writer: HistoryWriter) -> None:
        self.folder = folder
        self.db_path = folder / DB_NAME
        self.locks_dir = folder / "locks"
        self.recordings_dir = folder / "recordings"
        self._writer = writer
        self.recovered: list[Recovery] = []
        self.reader = HistoryReader(self.db_path)

    @classmethod
    def open(cls, folder: Path, *, commit_interval: float = 1.0) -> History:
        """Open (creating or migrating) the history in ``folder`` and recover interrupted meetings.
        Raises ``HistoryError`` (``OSError`` for an unusable folder)."""
        folder.mkdir(parents=True, exist_ok=True)
        writer = HistoryWriter(folder / DB_NAME, commit_interval=commit_interval)
        writer.start()
        history = cls(folder, writer)
        history.recovered = history._recover()
        return history

    @property
    def writer(self) -> HistoryWriter:
        return self._writer

    def begin(self, info: MeetingInfo) -> MeetingRecorder:
        uid = uuid.uuid4().hex
        return MeetingRecorder(self._writer, uid, info, lock_path(self.locks_dir, uid))

    def recording(self, recorder: MeetingRecorder, session_start: Callable[[], float]) -> AudioRecorder:
        """A local recording of ``recorder``'s meeting, in ``recordings/<uid>/``."""
        return AudioRecorder(self.recordings_dir / recorder.uid, self.folder, session_start)

    def delete(self, ids: list[int]) -> concurrent.futures.Future[int]:
        """Delete meetings and their recordings; the future has how many were deleted."""
        return self._writer.call(lambda conn: self._delete(conn, ids))

    def apply_retention(self, keep_days: int, now: float | None = None) -> concurrent.futures.Future[int]:
        """Delete finished meetings older than ``keep_days`` days (0 = keep everything)."""
        if keep_days <= 0:
            done: concurrent.futures.Future[int] = concurrent.futures.Future()
            done.set_result(0)
            return done
        before = (time.time() if now is None else now) - keep_days * DAY
        return self._writer.call(lambda conn: self._delete(conn, store.ids_started_before(conn, before)))

    def flush(self, timeout: float = 10.0) -> bool:
        return self._writer.flush(timeout=timeout)

    def close(self) -> None:
        """Commit everything and close (blocks)."""
        self._writer.close()

    # ------------------------------------------------------------------ internals

    def _delete(self, conn: sqlite3.Connection, ids: list[int]) -> int:
        removed = store.delete_meetings(conn, ids)
        for meeting in removed:
            self._remove_audio(meeting.uid)
        return len(removed)

    def _remove_audio(self, uid: str) -> None:
        folder = self.recordings_dir / uid
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            if folder.exists():
                log.warning("history: could not remove the recording %s", folder)

    def _recover(self) -> list[Recovery]:
        def run(conn: sqlite3.Connection) -> list[Recovery]:
            found = store.recover(conn, lambda uid: is_alive(self.locks_dir, uid))
            for meeting in found:
                self._recover_audio(conn, meeting.id, meeting.uid, meeting.audio_json)
                log.warning("history: meeting %d (started %s) was interrupted; recovered", meeting.id,
                            time.strftime("%Y-%m-%d %H:%M", time.localtime(meeting.started_at)))
            self._remove_orphans(conn)
            return [Recovery(m.id, m.started_at) for m in found]

        try:
            result: list[Recovery] = self._writer.call(run).result(timeout=30)
            return result
        except Exception:
            log.exception("history: recovery failed")
            return []

    def _recover_audio(self, conn: sqlite3.Connection, meeting_id: int, uid: str, audio_json: str) -> None:
        """Repair the WAV headers of an interrupted meeting's recording and list its files (a meeting
        stores them when it ends, which an interrupted one never did; their offsets are then unknown: 0)."""
        files = audio_from_json(audio_json)
        folder = self.recordings_dir / uid
        if not files and folder.is_dir():
            files = tuple(AudioFile(p.stem, p.relative_to(self.folder).as_posix())
                          for p in sorted(folder.glob("*.wav")))
            store.update_meeting(conn, meeting_id, audio_json=audio_to_json(files))
        for audio in files:
            repair_wav(self.folder / audio.path)

    def _remove_orphans(self, conn: sqlite3.Connection) -> None:
        """Recording folders whose meeting is gone (deleted while the files could not be removed)."""
        if not self.recordings_dir.is_dir():
            return
        known = {str(r[0]) for r in conn.execute("SELECT uid FROM meetings")}
        for folder in self.recordings_dir.iterdir():
            if folder.is_dir() and folder.name not in known:
                shutil.rmtree(folder, ignore_errors=True)
