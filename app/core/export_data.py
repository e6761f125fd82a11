"""Export a meeting as JSON (a versioned document whose schema is ``docs/export-schema.json``) and as
SubRip subtitles. Pure: ``ExportDocument`` in, text out. The same content as the Markdown
(``app.core.export``): one timeline of segments and loss markers, each section once.

SRT, as players expect it: cues numbered from 1 in start order, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``,
every cue at least ``MIN_CUE_SECONDS`` long, one text line (no blank line can end a cue early, no
``-->`` inside the text), a blank line after every cue, UTF-8 without a byte-order mark.
"""

from __future__ import annotations

import json
from typing import Any

from app.core.export import (
    CARD_KINDS,
    ENTITY_KINDS,
    ExportDocument,
    loss_text,
    speaker_tag,
    summary_prose,
    title_of,
)
from app.core.losses import LossSpan
from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity
from app.core.session_state import TranscriptSegment

EXPORT_FORMAT = "echopanel-companion-export"
EXPORT_VERSION = 2  # 2: one "timeline" with loss markers, "meeting" facts (dates, duration, sources)
MIN_CUE_SECONDS = 1.0  # an SRT cue whose t1 <= t0 still shows for a moment


# --------------------------------------------------------------------------- JSON


def to_json(doc: ExportDocument) -> str:
    cards = doc.cards or CardsEvent()
    entities = doc.entities or EntitiesEvent()
    lost: dict[str, float] = {}
    for span in doc.losses:
        lost[span.cause.value] = round(lost.get(span.cause.value, 0.0) + span.seconds, 3)
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "meeting": {
            "id": doc.meeting_id or None,
            "session_id": doc.session_id or None,
            "title": title_of(doc),
            "started_at": doc.started_at.isoformat(timespec="seconds") if doc.started_at else None,
            "ended_at": doc.ended_at.isoformat(timespec="seconds") if doc.ended_at else None,
            "duration_seconds": round(doc.duration_seconds, 3),
            "sources": list(doc.sources),
            "speakers": list(doc.speakers),
            "backend": doc.backend or None,
            "status": doc.status,
            "outcome": doc.outcome or None,
        },
        "summary_markdown": summary_prose(doc.summary_markdown) or None,
        "timeline": [_loss_json(i) if isinstance(i, LossSpan) else _segment_json(i) for i in doc.timeline()],
        "losses": {"total_seconds": round(sum(lost.values()), 3), "by_cause": lost},
        **{key: [_card_json(c) for c in getattr(cards, key)] for key, _ in CARD_KINDS},
        "entities": {key: [_entity_json(e) for e in getattr(entities, key)] for key, _ in ENTITY_KINDS},
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _segment_json(segment: TranscriptSegment) -> dict[str, Any]:
    return {
        "kind": "segment",
        "source": segment.source,
        "t0": round(segment.t0, 3),
        "t1": round(max(segment.t0, segment.t1), 3),
        "text": " ".join(segment.text.split()),
        "speaker": segment.speaker,
        "confidence": segment.confidence,
        "approximate": segment.approximate,
        "error_seconds": round(segment.error_seconds, 3),
        "connection_index": segment.connection_index,
        "segment_id": segment.segment_id,
    }


def _loss_json(span: LossSpan) -> dict[str, Any]:
    return {
        "kind": "loss",
        "source": span.source,
        "t0": round(span.start, 3),
        "t1": round(max(span.start, span.end), 3),
        "cause": span.cause.value,
        "reason": span.cause.reason,
        "approximate": span.approximate,
        "error_seconds": round(span.error_seconds, 3),
    }


def _card_json(card: Card) -> dict[str, Any]:
    return {"text": card.text, "owner": card.owner, "due": card.due, "confidence": card.confidence,
            "evidence": list(card.evidence)}


def _entity_json(entity: Entity) -> dict[str, Any]:
    return {"name": entity.name, "type": entity.type, "count": entity.count, "last_seen": entity.last_seen,
            "confidence": entity.confidence}


# --------------------------------------------------------------------------- SRT


def srt_time(seconds: float) -> str:
    """``HH:MM:SS,mmm`` as SRT requires; negative times clamp to zero."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def to_srt(doc: ExportDocument) -> str:
    """SubRip cues for the timeline: transcript lines and, in brackets, what was not transcribed."""
    cues = []
    for index, item in enumerate(doc.timeline(), start=1):
        if isinstance(item, LossSpan):
            start, end, text = item.start, item.end, f"[{loss_text(item)}]"
        else:
            start, end, text = item.t0, item.t1, f"{speaker_tag(item)}: {item.text}"
        end = end if end - start >= MIN_CUE_SECONDS else start + MIN_CUE_SECONDS
        cues.append(f"{index}\n{srt_time(start)} --> {srt_time(end)}\n{_cue_text(text)}\n\n")
    return "".join(cues)


def _cue_text(text: str) -> str:
    return " ".join(text.replace("-->", "→").split())
