"""Reads from the history database: the meeting list, search, one whole meeting.

Each function takes a connection and only reads. Readers use their own connection (WAL: they never
wait for the writer and see everything committed). The list reads only the ``meetings`` table, whose
list columns (title, seconds lost, segment count) are kept up to date as the meeting is written, so
listing hundreds of meetings costs one indexed scan.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from app.core.losses import LossCause, LossSpan
from app.core.session_state import TranscriptSegment
from app.history.codec import audio_from_json, cards_from_json, end_from_json, entities_from_json
from app.history.records import LevelMark, MeetingRow, MeetingState, StoredMeeting
from app.history.schema import search_mode
from app.history.titles import display_title

SEARCH_LIMIT = 5000  # matching segments looked at per search
SNIPPET_CHARS = 48
_ROW = ("id, uid, started_at, duration, state, outcome, title, first_words, lost_seconds, segment_count, "
        "sources, origin, audio_json")


def list_meetings(conn: sqlite3.Connection, limit: int | None = None) -> list[MeetingRow]:
    """Newest first."""
    sql = f"SELECT {_ROW} FROM meetings ORDER BY started_at DESC, id DESC"
    rows = conn.execute(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
    return [_row(r) for r in rows]


def search(conn: sqlite3.Connection, text: str) -> list[MeetingRow]:
    """Meetings whose transcript holds ``text`` as a phrase (its last word may be a prefix), or whose
    title or summary contains it; newest first, each with a snippet of the first match."""
    text = " ".join(text.split())
    if not text:
        return list_meetings(conn)
    snippets = _transcript_hits(conn, text)
    like = f"%{_escape_like(text)}%"
    for (meeting_id,) in conn.execute(
            "SELECT id FROM meetings WHERE title LIKE ? ESCAPE '\\' OR first_words LIKE ? ESCAPE '\\' "
            "OR summary_markdown LIKE ? ESCAPE '\\'", (like, like, like)):
        snippets.setdefault(int(meeting_id), "")
    if not snippets:
        return []
    marks = ",".join("?" * len(snippets))
    rows = conn.execute(f"SELECT {_ROW} FROM meetings WHERE id IN ({marks}) "
                        "ORDER BY started_at DESC, id DESC", tuple(snippets)).fetchall()
    return [_row(r, snippets.get(int(r[0]), "")) for r in rows]


def _transcript_hits(conn: sqlite3.Connection, text: str) -> dict[int, str]:
    hits: dict[int, str] = {}
    if search_mode(conn) == "fts5":
        phrase = '"' + text.replace('"', '""') + '"*'
        try:
            rows = conn.execute(
                "SELECT s.meeting_id, snippet(segments_fts, 0, '', '', '…', 12) FROM segments_fts "
                "JOIN segments s ON s.id = segments_fts.rowid WHERE segments_fts MATCH ? "
                "ORDER BY s.meeting_id, s.t0 LIMIT ?", (phrase, SEARCH_LIMIT)).fetchall()
        except sqlite3.OperationalError:  # a query FTS5 cannot parse: fall back to a plain scan
            rows = []
        else:
            for meeting_id, snippet in rows:
                hits.setdefault(int(meeting_id), str(snippet))
            return hits
    like = f"%{_escape_like(text)}%"
    for meeting_id, segment in conn.execute(
            "SELECT meeting_id, text FROM segments WHERE text LIKE ? ESCAPE '\\' ORDER BY meeting_id, t0 "
            "LIMIT ?", (like, SEARCH_LIMIT)):
        hits.setdefault(int(meeting_id), _snippet(str(segment), text))
    return hits


def load_meeting(conn: sqlite3.Connection, meeting_id: int) -> StoredMeeting | None:
    row = conn.execute(f"SELECT {_ROW}, ended_at, backend, message, summary_markdown, cards_json, "
                       "entities_json, end_json, session_id FROM meetings WHERE id = ?",
                       (meeting_id,)).fetchone()
    if row is None:
        return None
    segments = tuple(
        TranscriptSegment(src, text, t0, t1, True, connection_index=conn_index, segment_id=seg_id,
                          speaker=speaker, confidence=confidence, approximate=bool(approx),
                          error_seconds=error)
        for src, text, t0, t1, speaker, confidence, conn_index, seg_id, approx, error in conn.execute(
            "SELECT source, text, t0, t1, speaker, confidence, connection, segment_id, approximate, "
            "error_seconds FROM segments WHERE meeting_id = ? ORDER BY t0, id", (meeting_id,)))
    levels = tuple(LevelMark(t, level, reason) for t, level, reason in conn.execute(
        "SELECT t, level, reason FROM levels WHERE meeting_id = ? ORDER BY t", (meeting_id,)))
    losses = tuple(_loss(*r) for r in conn.execute(
        "SELECT source, t0, t1, cause, approximate, error_seconds FROM losses WHERE meeting_id = ? "
        "ORDER BY t0", (meeting_id,)))
    rest: Sequence[object] = row[13:]
    ended_at, backend, message, summary, cards, entities, end, session_id = rest
    return StoredMeeting(
        _row(row[:13]), float(ended_at) if isinstance(ended_at, int | float) else None, str(backend),
        str(message), str(session_id), str(row[6]), segments, levels,
        tuple(s for s in losses if s is not None),
        summary if isinstance(summary, str) else None, cards_from_json(_opt(cards)),
        entities_from_json(_opt(entities)), end_from_json(_opt(end)), audio_from_json(str(row[12] or "")))


def count_meetings(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM meetings").fetchone()[0])


# --------------------------------------------------------------------------- helpers


def _row(r: Sequence[object], snippet: str = "") -> MeetingRow:
    (meeting_id, uid, started_at, duration, state, outcome, title, words, lost, count, sources, origin,
     audio) = r
    try:
        known = MeetingState(str(state))
    except ValueError:
        known = MeetingState.INTERRUPTED
    return MeetingRow(int(str(meeting_id)), str(uid), _float(started_at), _float(duration), known,
                      str(outcome), display_title(str(title), str(words)), _float(lost), int(str(count)),
                      tuple(s for s in str(sources).split(",") if s), str(origin), bool(audio), snippet)


def _loss(source: str, t0: float, t1: float, cause: str, approx: int, error: float) -> LossSpan | None:
    try:
        return LossSpan(source, t0, t1, LossCause(cause), bool(approx), error)
    except ValueError:  # a cause this version does not know: skip it rather than fail the meeting
        return None


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _opt(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _snippet(segment: str, text: str) -> str:
    at = segment.lower().find(text.lower())
    if at < 0:
        return segment[:SNIPPET_CHARS]
    start = max(0, at - SNIPPET_CHARS // 2)
    end = min(len(segment), at + len(text) + SNIPPET_CHARS // 2)
    return ("…" if start else "") + segment[start:end] + ("…" if end < len(segment) else "")
