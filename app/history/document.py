"""A stored meeting as the export document (``app.core.export``): every format and the meeting view
show the same content."""

from __future__ import annotations

from datetime import datetime

from app.core.export import ExportDocument
from app.history.records import StoredMeeting
from app.history.titles import title_from_summary


def local_time(timestamp: float | None) -> datetime | None:
    """Unix seconds as an aware datetime in this computer's time zone."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp).astimezone()


def export_document(meeting: StoredMeeting) -> ExportDocument:
    row = meeting.row
    return ExportDocument(
        session_id=meeting.session_id,
        segments=meeting.segments,
        cards=meeting.cards,
        entities=meeting.entities,
        summary_markdown=meeting.summary_markdown,
        started_at=local_time(row.started_at),
        ended_at=local_time(meeting.ended_at),
        duration_seconds=row.duration,
        title=meeting.summary_title or title_from_summary(meeting.summary_markdown),
        sources=row.sources,
        backend=meeting.backend,
        losses=meeting.losses,
        status=row.state.value,
        outcome=row.outcome,
        meeting_id=row.uid,
    )
