"""The history database on a real file: schema and migrations, what a meeting's events become,
recovery of a meeting whose app died, search, delete with the recording, retention."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from historykit import CARDS, ENTITIES, LOSS, SEGMENTS, SUMMARY, info, play_meeting, snapshot

from app.core.losses import LossCause, LossSpan
from app.core.messages import Source
from app.core.session_state import TranscriptChanged, TranscriptSegment
from app.history import History, HistoryError, MeetingState, schema
from app.history.ownership import FileLock, lock_path
from app.history.records import Origin


def test_a_new_file_has_the_current_schema_version_and_a_migration_for_every_older_one(tmp_path: Path):
    history = History.open(tmp_path)
    history.close()
    conn = sqlite3.connect(tmp_path / "history.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert set(schema.MIGRATIONS) == set(range(schema.SCHEMA_VERSION))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"meetings", "segments", "levels", "losses", "meta"} <= tables


def test_a_file_from_a_newer_version_is_refused_with_a_reason(tmp_path: Path):
    conn = sqlite3.connect(tmp_path / "history.sqlite3")
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(HistoryError, match="newer version"):
        History.open(tmp_path)


def test_an_interrupted_migration_leaves_the_old_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setitem(schema.MIGRATIONS, 0, broken)
    with pytest.raises(HistoryError):
        History.open(tmp_path)
    conn = sqlite3.connect(tmp_path / "history.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchone()


def test_a_meeting_keeps_everything_its_session_reported(history: History):
    recorder = history.begin(info())
    play_meeting(recorder)
    history.flush()
    [row] = history.reader.list_meetings()
    assert row.state is MeetingState.COMPLETE and row.outcome == "summary"
    assert row.title == "Budget review and launch date"  # from the summary's heading
    assert row.segment_count == 3 and row.lost_seconds == pytest.approx(4.0)
    meeting = history.reader.load(row.id)
    assert meeting is not None
    assert meeting.segments == SEGMENTS  # the third came only with the end (the summary merge)
    assert meeting.losses == (LOSS,)  # merged span, stored once
    assert [(m.level, m.t) for m in meeting.levels] == [("live", 0.5), ("losing", 10.0)]
    assert meeting.cards == CARDS and meeting.entities == ENTITIES
    assert meeting.summary_markdown == SUMMARY
    assert meeting.end["sources"]["system"]["sent_frames"] == 1500
    assert not lock_path(history.locks_dir, row.uid).exists()  # released once complete


def test_writes_reach_the_disk_within_two_seconds_without_a_flush(history: History):
    recorder = history.begin(info())
    segment = TranscriptSegment("mic", "committed on its own", 1.0, 2.0, True)
    recorder.on_event(TranscriptChanged(2.0, segment))
    submitted = time.monotonic()
    other = sqlite3.connect(history.db_path)  # another connection, as another process would read
    while not other.execute("SELECT 1 FROM segments WHERE text = 'committed on its own'").fetchone():
        assert time.monotonic() - submitted < 2.0, "not committed within 2 s"
        time.sleep(0.02)


def test_without_a_summary_the_title_is_the_first_words(history: History):
    recorder = history.begin(info())
    recorder.finish(snapshot(summary=None), None)
    history.flush()
    [row] = history.reader.list_meetings()
    assert row.title == "Good morning everyone, the budget review is due on Friday. …"
    assert row.outcome == "cancelled"  # no end event: the session never reported one


def test_a_meeting_whose_app_died_is_recovered_as_interrupted(tmp_path: Path):
    folder = tmp_path / "data"
    first = History.open(folder)
    recorder = first.begin(info())
    play_meeting(recorder, finish=False)
    first.flush()
    # The process "dies": its lock goes away with it (the OS releases it), the row stays "recording".
    recorder._lock.release()
    first.close()
    again = History.open(folder)
    try:
        [row] = again.reader.list_meetings()
        assert row.state is MeetingState.INTERRUPTED
        assert [r.id for r in again.recovered] == [row.id]
        meeting = again.reader.load(row.id)
        assert meeting is not None and "recovered" in meeting.message
        assert meeting.segments == SEGMENTS[:2]
        assert meeting.ended_at is not None and meeting.ended_at >= meeting.row.started_at
    finally:
        again.close()


def test_a_meeting_another_process_still_records_is_left_alone(tmp_path: Path):
    folder = tmp_path / "data"
    first = History.open(folder)
    recorder = first.begin(info(origin=Origin.HEADLESS))
    first.flush()
    [row] = first.reader.list_meetings()
    other = FileLock(lock_path(first.locks_dir, row.uid))
    assert not other.acquire()  # held (through another descriptor: as another process would see it)
    second = History.open(folder)  # e.g. the window starting while a headless run records
    try:
        assert second.recovered == []
        assert second.reader.list_meetings()[0].state is MeetingState.RECORDING
    finally:
        second.close()
        recorder.finish(None, None)
        first.close()


@pytest.mark.parametrize("mode", ["fts5", "like"])
def test_search_finds_a_phrase_in_the_transcript_and_the_title(history: History, mode: str):
    if mode == "fts5" and not schema.has_fts5():
        pytest.skip("this SQLite has no FTS5")
    first = history.begin(info(started_at=1_000.0))
    play_meeting(first)
    other = history.begin(info(started_at=2_000.0))
    other.on_event(TranscriptChanged(1.0, TranscriptSegment("mic", "Nothing about money here.", 0, 1, True)))
    other.finish(None, None)
    history.flush()
    if mode == "like":
        history.writer.call(
            lambda c: c.execute("UPDATE meta SET value = 'like' WHERE key = 'search'")).result()
    hits = history.reader.search("move the launch")
    assert [h.started_at for h in hits] == [1_000.0]
    assert "move the launch" in hits[0].snippet.lower()
    assert [h.started_at for h in history.reader.search("launch date")] == [1_000.0]  # the title
    assert history.reader.search("launch to tues") == []
    assert len(history.reader.search("")) == 2
    assert [h.started_at for h in history.reader.search('100% "quoted" money_')] == []  # no syntax error


def test_delete_removes_the_meeting_its_rows_and_its_recording(history: History):
    recorder = history.begin(info())
    started = time.monotonic()
    audio = history.recording(recorder, lambda: started)
    frame = type("F", (), {"source": Source.MIC, "pcm": bytes(640), "capture_time": started})
    audio.tap([frame] * 100)
    audio.close()
    recorder.set_audio(audio.files())
    recorder.finish(snapshot(), None)
    history.flush()
    [row] = history.reader.list_meetings()
    assert row.has_audio
    folder = history.recordings_dir / row.uid
    assert (folder / "mic.wav").stat().st_size == 44 + 100 * 640
    assert history.delete([row.id]).result(timeout=10) == 1
    assert history.reader.list_meetings() == [] and not folder.exists()
    conn = sqlite3.connect(history.db_path)
    assert conn.execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 0


def test_retention_deletes_only_finished_meetings_older_than_the_limit(history: History):
    now = time.time()
    for age_days in (40, 10):
        recorder = history.begin(info(started_at=now - age_days * 86_400))
        recorder.finish(snapshot(), None)
    live = history.begin(info(started_at=now - 50 * 86_400))  # still recording: never deleted
    assert history.apply_retention(30, now).result(timeout=10) == 1
    assert history.apply_retention(0, now).result(timeout=10) == 0  # 0 = keep everything
    left = sorted(round((now - r.started_at) / 86_400) for r in history.reader.list_meetings())
    assert left == [10, 50]
    live.finish(None, None)


def test_loss_spans_from_the_end_replace_what_was_recorded(history: History):
    recorder = history.begin(info())
    recorder.on_event(TranscriptChanged(1.0, SEGMENTS[0]))
    from app.core.session_state import LossRecorded

    recorder.on_event(LossRecorded(5.0, LossSpan("mic", 2.0, 3.0, LossCause.IN_TRANSIT)))
    recorder.finish(snapshot(), None)  # the snapshot's ledger holds only LOSS
    history.flush()
    meeting = history.reader.load(history.reader.list_meetings()[0].id)
    assert meeting is not None and meeting.losses == (LOSS,)
