"""One meeting's writer-side bookkeeping: turns a session's events and snapshots into history writes.

Event-loop thread only: ``on_event`` (a session listener), ``on_snapshot`` (about once a second) and
``finish`` only queue operations on the ``HistoryWriter`` (never block, never raise into the session).

What is written when: the meeting row at once (state "recording", its ownership lock taken); every
final transcript segment as it arrives; every light change; every loss span as the ledger reports it;
cards, entities and the heartbeat (last-alive time, duration) from snapshots; the summary when it
arrives. ``finish`` adds what only the end knows (segments the summary merge added, the end
counters, the final loss spans), marks the meeting complete, commits, then releases the lock.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from app.core.losses import LossSpan
from app.core.session_state import (
    ConnectionState,
    LossRecorded,
    SessionEnded,
    SessionEvent,
    SessionFailed,
    SessionSnapshot,
    StatusChanged,
    StopOutcome,
    SummaryReady,
    TranscriptChanged,
    TranscriptSegment,
)
from app.history import store
from app.history.codec import audio_to_json, cards_to_json, end_to_json, entities_to_json
from app.history.ownership import FileLock
from app.history.records import AudioFile, MeetingInfo, MeetingState
from app.history.titles import FIRST_WORDS, first_words, title_from_summary
from app.history.writer import HistoryWriter

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 1.0


class MeetingRecorder:
    def __init__(self, writer: HistoryWriter, uid: str, info: MeetingInfo, lock_file: Path,
                 wall: Callable[[], float] = time.time) -> None:
        self.uid = uid
        self._writer = writer
        self._wall = wall
        self._id: int | None = None
        self._lock = FileLock(lock_file)
        # hashes of (source, start, text) of the lines written: the end's merged transcript repeats
        # them. An int per line, not the tuple (~70 bytes less per line over a long meeting, issue 17);
        # two different lines colliding in Python's 64-bit string hash is not a real risk.
        self._written: set[int] = set()
        self._words = ""
        self._session_id = ""
        self._cards: object = None
        self._entities: object = None
        self._beat = -float("inf")
        self._message = ""
        self._light = ""  # the last light recorded
        self._audio: tuple[AudioFile, ...] = ()
        self.finished = False
        self._submit(self._begin(info), needs_id=False)

    @property
    def meeting_id(self) -> int | None:
        """The database id, once the writer thread has inserted the row."""
        return self._id

    # ------------------------------------------------------------------ inputs

    def on_event(self, event: SessionEvent) -> None:
        if self.finished:
            return
        if isinstance(event, TranscriptChanged) and event.segment.is_final:
            self._add_segments((event.segment,))
        elif isinstance(event, StatusChanged) and event.report.light.value != self._light:
            # the light's timeline, as people saw it (live, behind, losing, ...): a change of light
            # only, not every new wording of the same one
            self._light = light = event.report.light.value
            reason = event.report.headline
            self._submit(lambda c, i: store.insert_level(c, i, event.t, light, reason))
        elif isinstance(event, LossRecorded):
            span = event.span
            self._submit(lambda c, i: store.put_loss(c, i, span))
        elif isinstance(event, SummaryReady):
            markdown, title = event.markdown, title_from_summary(event.markdown)
            self._submit(lambda c, i: store.update_meeting(c, i, summary_markdown=markdown, title=title))
        elif isinstance(event, SessionFailed):
            self._message = event.message

    def on_snapshot(self, snap: SessionSnapshot) -> None:
        """Cards, entities, the session id and (at most once a second) the heartbeat."""
        if self.finished:
            return
        self._note_snapshot(snap)
        now = self._wall()
        if now - self._beat >= HEARTBEAT_SECONDS:
            self._beat = now
            elapsed = snap.elapsed_seconds
            self._submit(lambda c, i: store.update_meeting(c, i, heartbeat=now, duration=elapsed))

    def set_audio(self, files: tuple[AudioFile, ...]) -> None:
        """The local recording's files (written when the meeting finishes)."""
        self._audio = files

    def finish(self, snap: SessionSnapshot | None, ended: SessionEnded | None, message: str = "") -> None:
        """The meeting is over: save what only the end knows, mark it complete, commit, release."""
        if self.finished:
            return
        if snap is not None:
            self._note_snapshot(snap)
            self._add_segments(s for s in snap.transcript if s.is_final)
        values: dict[str, object] = {"state": MeetingState.COMPLETE.value, "ended_at": self._wall(),
                                     "outcome": _outcome(snap, ended).value,
                                     "message": (ended.message if ended else "") or message or self._message}
        if snap is not None:
            values["duration"] = snap.elapsed_seconds
            if snap.summary_markdown:
                values["summary_markdown"] = snap.summary_markdown
                values["title"] = title_from_summary(snap.summary_markdown)
        if ended is not None:
            values["end_json"] = end_to_json(ended)
            values["duration"] = max(ended.t, snap.elapsed_seconds if snap else 0.0)
        if self._audio:
            values["audio_json"] = audio_to_json(self._audio)
        spans = _final_spans(snap, ended)
        self._submit(lambda c, i: store.update_meeting(c, i, **values))
        if spans is not None:
            self._submit(lambda c, i: store.replace_losses(c, i, spans))
        self.finished = True
        self._writer.flush(wait=False)  # the lock goes only after the meeting is committed complete
        self._submit(lambda c, i: self._lock.release(remove=True))

    # ------------------------------------------------------------------ internals

    def _begin(self, info: MeetingInfo) -> Callable[[sqlite3.Connection, int], None]:
        def begin(conn: sqlite3.Connection, _: int) -> None:
            if not self._lock.acquire():
                log.warning("history: meeting %s is locked by another process", self.uid)
            self._id = store.insert_meeting(conn, self.uid, info)

        return begin

    def _note_snapshot(self, snap: SessionSnapshot) -> None:
        if snap.session_id and snap.session_id != self._session_id:
            self._session_id = sid = snap.session_id
            self._submit(lambda c, i: store.update_meeting(c, i, session_id=sid))
        if snap.cards is not None and snap.cards is not self._cards:
            self._cards, text = snap.cards, cards_to_json(snap.cards)
            self._submit(lambda c, i: store.update_meeting(c, i, cards_json=text))
        if snap.entities is not None and snap.entities is not self._entities:
            self._entities, ents = snap.entities, entities_to_json(snap.entities)
            self._submit(lambda c, i: store.update_meeting(c, i, entities_json=ents))

    def _add_segments(self, segments: Iterable[TranscriptSegment]) -> None:
        fresh = []
        for segment in segments:
            key = hash((segment.source, round(segment.t0, 3), segment.text))
            if key not in self._written and segment.text.strip():
                self._written.add(key)
                fresh.append(segment)
        if not fresh:
            return
        for segment in fresh:  # when each line reached the app: what a crash test holds the history to
            log.debug("history: final segment queued: %s %.3f %s", segment.source, segment.t0, segment.text)
        self._submit(lambda c, i: store.insert_segments(c, i, fresh))
        if len(self._words.split()) < FIRST_WORDS:
            self._words = first_words(" ".join([self._words, *(s.text for s in fresh)]))
            words = self._words
            self._submit(lambda c, i: store.update_meeting(c, i, first_words=words))

    def _submit(self, op: Callable[[sqlite3.Connection, int], object], needs_id: bool = True) -> None:
        def run(conn: sqlite3.Connection) -> None:
            if needs_id and self._id is None:
                raise RuntimeError(f"meeting {self.uid} has no row (its insert failed)")
            op(conn, self._id or 0)

        self._writer.submit(run)


def _outcome(snap: SessionSnapshot | None, ended: SessionEnded | None) -> StopOutcome:
    if ended is not None:
        return ended.outcome
    if snap is not None and snap.state is ConnectionState.FAILED:
        return StopOutcome.FAILED
    return StopOutcome.CANCELLED


def _final_spans(snap: SessionSnapshot | None, ended: SessionEnded | None) -> tuple[LossSpan, ...] | None:
    """The complete list of loss spans if the end says it, else ``None`` (keep what was recorded)."""
    if ended is not None and ended.losses:
        return tuple(span for losses in ended.losses.values() for span in losses.spans)
    if snap is not None and snap.losses:
        return snap.losses
    return None
