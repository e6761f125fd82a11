"""The history database: one SQLite file, its schema version and the migrations that bring an older
file up to date.

Layout (version 1): ``meetings`` (one row per session: times, backend, sources, state, the summary,
the latest cards and entities as JSON, the end counters, denormalised list columns such as the
title and the seconds lost), ``segments`` (final transcript lines in session time), ``levels`` (the
light's timeline: a row per change of light, such as live, behind, losing), ``losses`` (every located
loss span), ``meta`` (key/value facts about the file). ``PRAGMA user_version`` holds the schema version.

Full-text search: an FTS5 index over the segments' text (``segments_fts``, external content, kept in
step by triggers) when the SQLite library has FTS5 (CPython's builds for Linux, Windows and macOS
do); otherwise search falls back to ``LIKE`` over the segments of each meeting. ``ensure_search``
runs at every open, so a file moved between builds with and without FTS5 keeps working.

Connections: WAL journal (readers never wait for the writer), ``synchronous=FULL`` for the writer
(a commit survives a power cut), foreign keys on (deleting a meeting deletes its rows).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000


class HistoryError(Exception):
    """The history file cannot be used (unreadable, written by a newer version, disk trouble)."""


_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE meetings (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT 'window',
    started_at REAL NOT NULL,
    ended_at REAL,
    duration REAL NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'recording',
    outcome TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    backend TEXT NOT NULL DEFAULT '',
    sources TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    first_words TEXT NOT NULL DEFAULT '',
    summary_markdown TEXT,
    cards_json TEXT,
    entities_json TEXT,
    end_json TEXT,
    lost_seconds REAL NOT NULL DEFAULT 0,
    segment_count INTEGER NOT NULL DEFAULT 0,
    audio_json TEXT NOT NULL DEFAULT '',
    heartbeat REAL
);
CREATE INDEX meetings_by_start ON meetings(started_at);
CREATE INDEX meetings_by_state ON meetings(state);
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    text TEXT NOT NULL,
    t0 REAL NOT NULL,
    t1 REAL NOT NULL,
    speaker TEXT,
    confidence REAL,
    connection INTEGER NOT NULL DEFAULT 0,
    segment_id TEXT,
    approximate INTEGER NOT NULL DEFAULT 0,
    error_seconds REAL NOT NULL DEFAULT 0
);
CREATE INDEX segments_by_meeting ON segments(meeting_id, t0);
CREATE TABLE levels (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    level TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX levels_by_meeting ON levels(meeting_id, t);
CREATE TABLE losses (
    meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    t0 REAL NOT NULL,
    t1 REAL NOT NULL,
    cause TEXT NOT NULL,
    approximate INTEGER NOT NULL DEFAULT 0,
    error_seconds REAL NOT NULL DEFAULT 0
);
CREATE INDEX losses_by_meeting ON losses(meeting_id, t0);
"""

_FTS_TABLE = ("CREATE VIRTUAL TABLE IF NOT EXISTS segments_fts USING fts5("
              "text, content='segments', content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
_FTS_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS segments_fts_insert AFTER INSERT ON segments BEGIN "
    "INSERT INTO segments_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS segments_fts_delete AFTER DELETE ON segments BEGIN "
    "INSERT INTO segments_fts(segments_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
)
_TRIGGER_NAMES = ("segments_fts_insert", "segments_fts_delete")


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Statement by statement: ``executescript`` would commit the migration's transaction first."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _to_v1(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V1)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _to_v1}
"""Step N -> N+1, one per version below SCHEMA_VERSION (a test checks). Each runs in one transaction
with the version bump, so a crash mid-migration leaves the file at the old version."""


def has_fts5() -> bool:
    """Whether this SQLite library was built with FTS5."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE probe USING fts5(x)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def connect(path: Path, *, writer: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit). The writer's also migrates."""
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=True)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if writer:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            migrate(conn)
            ensure_search(conn)
        else:
            check_version(conn)
    except sqlite3.Error as exc:
        raise HistoryError(f"The meeting history {path} cannot be opened: {exc}.") from exc
    return conn


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_version(conn: sqlite3.Connection) -> None:
    found = version(conn)
    if found > SCHEMA_VERSION:
        raise HistoryError(
            f"The meeting history was written by a newer version of the app (schema {found}; this one "
            f"reads {SCHEMA_VERSION}). Update the app to see and add meetings."
        )


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the file to SCHEMA_VERSION, one step per transaction. ``HistoryError`` if it is newer."""
    check_version(conn)
    while (current := version(conn)) < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if version(conn) == current:  # another process may have migrated it meanwhile
                MIGRATIONS[current](conn)
                conn.execute(f"PRAGMA user_version = {current + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def ensure_search(conn: sqlite3.Connection) -> str:
    """Set up the full-text index if FTS5 exists (rebuilding it when it was missing), else drop its
    triggers so inserts keep working without the module. Returns ``"fts5"`` or ``"like"``."""
    if has_fts5():
        existed = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'segments_fts'").fetchone()
        mode = conn.execute("SELECT value FROM meta WHERE key = 'search'").fetchone()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_FTS_TABLE)
            for trigger in _FTS_TRIGGERS:
                conn.execute(trigger)
            if not existed or (mode is not None and mode[0] != "fts5"):
                conn.execute("INSERT INTO segments_fts(segments_fts) VALUES ('rebuild')")
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('search', 'fts5')")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return "fts5"
    for name in _TRIGGER_NAMES:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('search', 'like')")
    return "like"


def search_mode(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM meta WHERE key = 'search'").fetchone()
    return str(row[0]) if row else "like"
