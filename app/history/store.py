"""Writes to the history database. Every function takes the writer's connection and runs on the
writer thread (``app.history.writer``), inside the transaction the writer commits at least every 2 s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.core.losses import LossSpan
from app.core.session_state import TranscriptSegment
from app.history.records import MeetingInfo, MeetingState

UPDATABLE = frozenset({
    "session_id", "ended_at", "duration", "state", "outcome", "message", "title", "first_words",
    "summary_markdown", "cards_json", "entities_json", "end_json", "audio_json", "heartbeat", "backend",
    "sources",
})


def insert_meeting(conn: sqlite3.Connection, uid: str, info: MeetingInfo) -> int:
    cur = conn.execute(
        "INSERT INTO meetings(uid, origin, started_at, state, backend, sources, heartbeat) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (uid, info.origin.value, info.started_at, MeetingState.RECORDING.value, info.backend,
         ",".join(info.sources), info.started_at),
    )
    return int(cur.lastrowid or 0)


def update_meeting(conn: sqlite3.Connection, meeting_id: int, **values: object) -> None:
    unknown = set(values) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    if values:
        columns = ", ".join(f"{name} = ?" for name in values)
        conn.execute(f"UPDATE meetings SET {columns} WHERE id = ?", (*values.values(), meeting_id))


def insert_segments(conn: sqlite3.Connection, meeting_id: int, segments: Iterable[TranscriptSegment]) -> None:
    rows = [(meeting_id, s.source, s.text, s.t0, s.t1, s.speaker, s.confidence, s.connection_index,
             s.segment_id, int(s.approximate), s.error_seconds) for s in segments]
    if not rows:
        return
    conn.executemany(
        "INSERT INTO segments(meeting_id, source, text, t0, t1, speaker, confidence, connection, "
        "segment_id, approximate, error_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("UPDATE meetings SET segment_count = segment_count + ? WHERE id = ?",
                 (len(rows), meeting_id))


def insert_level(conn: sqlite3.Connection, meeting_id: int, t: float, level: str, reason: str) -> None:
    conn.execute("INSERT INTO levels(meeting_id, t, level, reason) VALUES (?, ?, ?, ?)",
                 (meeting_id, t, level, reason))


def put_loss(conn: sqlite3.Connection, meeting_id: int, span: LossSpan) -> None:
    """Store ``span`` as the ledger now holds it: it replaces the spans of its source and cause that it
    overlaps (the ledger merged them into it)."""
    conn.execute("DELETE FROM losses WHERE meeting_id = ? AND source = ? AND cause = ? AND t0 <= ? "
                 "AND t1 >= ?", (meeting_id, span.source, span.cause.value, span.end, span.start))
    _insert_losses(conn, meeting_id, (span,))


def replace_losses(conn: sqlite3.Connection, meeting_id: int, spans: Iterable[LossSpan]) -> None:
    """The session's final word on its losses (``SessionEnded.losses``) replaces what was recorded."""
    conn.execute("DELETE FROM losses WHERE meeting_id = ?", (meeting_id,))
    _insert_losses(conn, meeting_id, spans)


def _insert_losses(conn: sqlite3.Connection, meeting_id: int, spans: Iterable[LossSpan]) -> None:
    conn.executemany(
        "INSERT INTO losses(meeting_id, source, t0, t1, cause, approximate, error_seconds) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(meeting_id, s.source, s.start, s.end, s.cause.value, int(s.approximate), s.error_seconds)
         for s in spans])
    conn.execute("UPDATE meetings SET lost_seconds = (SELECT COALESCE(SUM(MAX(t1 - t0, 0)), 0) "
                 "FROM losses WHERE meeting_id = ?) WHERE id = ?", (meeting_id, meeting_id))


@dataclass(frozen=True, slots=True)
class Removed:
    """A meeting deleted from the database; its audio files (``audio_json``) are the caller's to remove."""

    id: int
    uid: str
    audio_json: str


def delete_meetings(conn: sqlite3.Connection, ids: Iterable[int]) -> list[Removed]:
    removed = []
    for meeting_id in ids:
        row = conn.execute("SELECT uid, audio_json FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
        if row is None:
            continue
        conn.execute("DELETE FROM meetings WHERE id = ?", (meeting_id,))
        removed.append(Removed(meeting_id, str(row[0]), str(row[1] or "")))
    return removed


@dataclass(frozen=True, slots=True)
class Recovered:
    id: int
    uid: str
    started_at: float
    audio_json: str


def recover(conn: sqlite3.Connection, is_alive: Callable[[str], bool]) -> list[Recovered]:
    """Mark every meeting still ``recording`` whose writer is gone (``is_alive(uid)`` false) as
    ``interrupted``, ending it at its last heartbeat (the last commit of the process that wrote it)."""
    rows = conn.execute("SELECT id, uid, started_at, heartbeat, duration, audio_json FROM meetings "
                        "WHERE state = ?", (MeetingState.RECORDING.value,)).fetchall()
    found = []
    for meeting_id, uid, started_at, heartbeat, duration, audio in rows:
        if is_alive(str(uid)):
            continue
        ended = max(float(heartbeat or started_at), float(started_at) + float(duration or 0.0))
        conn.execute(
            "UPDATE meetings SET state = ?, ended_at = ?, duration = MAX(duration, ?), message = ? "
            "WHERE id = ?",
            (MeetingState.INTERRUPTED.value, ended, ended - float(started_at),
             "The app stopped before this meeting ended (crash or power cut); recovered on the next start.",
             meeting_id))
        found.append(Recovered(int(meeting_id), str(uid), float(started_at), str(audio or "")))
    return found


def ids_started_before(conn: sqlite3.Connection, before: float) -> list[int]:
    """Finished meetings that started before ``before`` (Unix seconds): what retention removes."""
    rows = conn.execute("SELECT id FROM meetings WHERE started_at < ? AND state != ?",
                        (before, MeetingState.RECORDING.value)).fetchall()
    return [int(r[0]) for r in rows]
