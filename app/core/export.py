"""Export a session to Markdown, JSON and SRT. Pure: values in, text out; the caller writes files.

Only FINAL transcript segments are exported (partials are provisional by definition). Segment
times are session time as the session publishes them (rebased across reconnects).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity
from app.core.session_state import TranscriptSegment

EXPORT_FORMAT = "echopanel-companion-export"
EXPORT_VERSION = 1
SOURCE_NAMES = {"system": "System", "mic": "Mic"}
MIN_CUE_SECONDS = 1.0  # an SRT cue whose t1 <= t0 still shows for a moment
CARD_KINDS = (("actions", "Actions"), ("decisions", "Decisions"), ("risks", "Risks"))
ENTITY_KINDS = (
    ("people", "People"),
    ("orgs", "Organisations"),
    ("dates", "Dates"),
    ("projects", "Projects"),
    ("topics", "Topics"),
)


@dataclass(frozen=True, slots=True)
class ExportDocument:
    """Everything an export contains. ``started_at`` is display text chosen by the caller ("" = omit)."""

    session_id: str
    segments: tuple[TranscriptSegment, ...] = ()
    cards: CardsEvent | None = None
    entities: EntitiesEvent | None = None
    summary_markdown: str | None = None
    started_at: str = ""

    @property
    def finals(self) -> tuple[TranscriptSegment, ...]:
        return tuple(s for s in self.segments if s.is_final and s.text.strip())


def _speaker_tag(segment: TranscriptSegment) -> str:
    name = SOURCE_NAMES.get(segment.source, segment.source)
    return f"{segment.speaker} ({name})" if segment.speaker else name


def clock(seconds: float) -> str:
    """``mm:ss`` (or ``h:mm:ss`` past an hour) for transcript lines."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def srt_time(seconds: float) -> str:
    """``HH:MM:SS,mmm`` as SRT requires; negative times clamp to zero."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


# --------------------------------------------------------------------------- Markdown


def _card_md(card: Card) -> str:
    extras = [f"owner: {card.owner}" if card.owner else "", f"due: {card.due}" if card.due else ""]
    extra = ", ".join(x for x in extras if x)
    return f"- {card.text}" + (f" ({extra})" if extra else "")


def _entity_md(entity: Entity) -> str:
    return f"{entity.name} (×{entity.count})" if entity.count > 1 else entity.name


def demote_headings(markdown: str, levels: int = 2) -> str:
    """Nest a Markdown document under ours: ``# x`` becomes ``### x`` (never deeper than ``######``).
    Lines inside fenced code blocks are left alone."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            depth = len(line) - len(line.lstrip("#"))
            if line[depth : depth + 1] in (" ", ""):
                line = "#" * min(6, depth + levels) + line[depth:]
        out.append(line)
    return "\n".join(out)


def to_markdown(doc: ExportDocument) -> str:
    lines = ["# Meeting notes", ""]
    if doc.session_id:
        lines.append(
            f"Session `{doc.session_id}`" + (f", started {doc.started_at}" if doc.started_at else "")
        )
        lines.append("")
    if doc.summary_markdown and doc.summary_markdown.strip():
        lines += ["## Summary from the backend", "", demote_headings(doc.summary_markdown.strip()), ""]
    if doc.cards is not None:
        for key, title in CARD_KINDS:
            cards: tuple[Card, ...] = getattr(doc.cards, key)
            if cards:
                lines += [f"## {title}", "", *(_card_md(c) for c in cards), ""]
    if doc.entities is not None:
        rows = []
        for key, title in ENTITY_KINDS:
            found: tuple[Entity, ...] = getattr(doc.entities, key)
            if found:
                rows.append(f"- **{title}:** " + ", ".join(_entity_md(e) for e in found))
        if rows:
            lines += ["## Entities", "", *rows, ""]
    lines += ["## Transcript", ""]
    finals = doc.finals
    if not finals:
        lines.append("_No transcript._")
    for segment in finals:
        lines.append(f"- **[{clock(segment.t0)}] {_speaker_tag(segment)}:** {segment.text.strip()}")
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- JSON


def _card_json(card: Card) -> dict[str, Any]:
    return {
        "text": card.text,
        "owner": card.owner,
        "due": card.due,
        "confidence": card.confidence,
        "evidence": list(card.evidence),
    }


def _entity_json(entity: Entity) -> dict[str, Any]:
    return {
        "name": entity.name,
        "type": entity.type,
        "count": entity.count,
        "last_seen": entity.last_seen,
        "confidence": entity.confidence,
    }


def _segment_json(segment: TranscriptSegment) -> dict[str, Any]:
    return {
        "source": segment.source,
        "text": segment.text,
        "t0": round(segment.t0, 3),
        "t1": round(segment.t1, 3),
        "speaker": segment.speaker,
        "confidence": segment.confidence,
        "connection_index": segment.connection_index,
        "segment_id": segment.segment_id,
    }


def to_json(doc: ExportDocument) -> str:
    """A versioned JSON document (``format``/``version`` keys) with the same content as the Markdown."""
    cards = doc.cards or CardsEvent()
    entities = doc.entities or EntitiesEvent()
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "session_id": doc.session_id,
        "started_at": doc.started_at or None,
        "summary_markdown": doc.summary_markdown,
        "transcript": [_segment_json(s) for s in doc.finals],
        **{key: [_card_json(c) for c in getattr(cards, key)] for key, _ in CARD_KINDS},
        "entities": {key: [_entity_json(e) for e in getattr(entities, key)] for key, _ in ENTITY_KINDS},
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- SRT


def to_srt(segments: Sequence[TranscriptSegment]) -> str:
    """SubRip cues for the final segments, ordered by start time, numbered from 1."""
    finals = sorted((s for s in segments if s.is_final and s.text.strip()), key=lambda s: s.t0)
    cues = []
    for index, segment in enumerate(finals, start=1):
        end = segment.t1 if segment.t1 > segment.t0 else segment.t0 + MIN_CUE_SECONDS
        cues.append(
            f"{index}\n{srt_time(segment.t0)} --> {srt_time(end)}\n"
            f"{_speaker_tag(segment)}: {segment.text.strip()}\n"
        )
    return "\n".join(cues)


def suggested_filename(session_id: str, extension: str) -> str:
    stem = "".join(ch for ch in session_id[:8] if ch.isalnum()) or "session"
    return f"echopanel-{stem}.{extension}"
