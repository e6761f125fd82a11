"""Helpers for the history tests: constructed sessions (events and snapshots), a history in a folder."""

from __future__ import annotations

import time
from pathlib import Path

from app.core.losses import LossCause, LossSpan, SourceLosses
from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity, Source
from app.core.session_state import (
    LossRecorded,
    SessionEnded,
    SessionSnapshot,
    SourceCounters,
    StatusChanged,
    StopOutcome,
    SummaryReady,
    TranscriptChanged,
    TranscriptSegment,
)
from app.core.status_report import Light, StatusReport
from app.history import History, MeetingInfo, Origin
from app.history.recorder import MeetingRecorder

SEGMENTS = (
    TranscriptSegment("mic", "Good morning everyone, the budget review is due on Friday.", 1.0, 4.0, True),
    TranscriptSegment("system", "Thanks Ana. Can we move the launch to Monday?", 5.0, 8.5, True),
    TranscriptSegment("mic", "Yes, Monday works for the launch.", 20.0, 22.0, True, approximate=True,
                      error_seconds=0.4),
)
LOSS = LossSpan("system", 10.0, 14.0, LossCause.SERVER_DROP)
CARDS = CardsEvent(actions=(Card("Send the budget", owner="Ana", due="Friday"),),
                   decisions=(Card("Launch on Monday"),))
ENTITIES = EntitiesEvent(people=(Entity("Ana", "person", 2),), topics=(Entity("budget", "topic", 1),))
SUMMARY = "# Budget review and launch date\n\nThe team agreed to launch on Monday.\n"


def info(started_at: float | None = None, origin: Origin = Origin.WINDOW) -> MeetingInfo:
    return MeetingInfo(time.time() if started_at is None else started_at, origin, "ws://127.0.0.1:8000",
                       ("system", "mic"))


def snapshot(segments: tuple[TranscriptSegment, ...] = SEGMENTS, elapsed: float = 30.0,
             summary: str | None = SUMMARY) -> SessionSnapshot:
    return SessionSnapshot(session_id="3f2a9c1e-1111", elapsed_seconds=elapsed, transcript=segments,
                           cards=CARDS, entities=ENTITIES, summary_markdown=summary, losses=(LOSS,))


def ended(t: float = 30.0) -> SessionEnded:
    counters = {Source.SYSTEM: SourceCounters(captured_frames=1500, sent_frames=1500),
                Source.MIC: SourceCounters(captured_frames=1500, sent_frames=1500)}
    losses = {"system": SourceLosses(server_dropped_seconds=4.0, spans=(LOSS,)), "mic": SourceLosses()}
    return SessionEnded(t, StopOutcome.SUMMARY, counters, 200, 0, "", losses)


def play_meeting(recorder: MeetingRecorder, finish: bool = True) -> None:
    """A whole meeting as a session reports it: events as they come, snapshots, the end."""
    recorder.on_event(StatusChanged(0.5, StatusReport(Light.LIVE, "Live")))
    recorder.on_event(StatusChanged(3.0, StatusReport(Light.LIVE, "Live, new words")))  # same light
    for segment in SEGMENTS[:2]:
        recorder.on_event(TranscriptChanged(segment.t1, segment))
    recorder.on_event(StatusChanged(10.0, StatusReport(Light.LOSING, "2 s not transcribed")))
    recorder.on_event(LossRecorded(10.5, LossSpan("system", 10.0, 12.0, LossCause.SERVER_DROP)))
    recorder.on_event(LossRecorded(13.0, LOSS))  # the ledger merged it: replaces the first
    recorder.on_snapshot(snapshot(SEGMENTS[:2], 15.0, None))
    recorder.on_event(SummaryReady(29.0, SUMMARY, 3))
    if finish:
        recorder.finish(snapshot(), ended())


def open_history(folder: Path) -> History:
    return History.open(folder)
