"""Export a meeting: the document every format shares, and Markdown. Pure: values in, text out; the
caller writes the file (atomically, ``app.fileio``). JSON and SRT: ``app.core.export_data``.

One timeline: the final transcript segments and the loss markers ("00:20-00:33 not transcribed:
backend overloaded"), in session time, each once. Around it, each once: the date and time, duration,
sources and speakers, the backend's summary (without the sections this export renders itself, so the
transcript, actions and entities never appear twice with different numbers), actions, decisions,
risks and entities. Only FINAL segments are exported (partials are provisional by definition).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.core.losses import LossCause, LossSpan
from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity
from app.core.session_state import TranscriptSegment

SOURCE_NAMES = {"system": "System", "mic": "Mic"}
SOURCE_ROLES = {"system": "system audio (the other participants)", "mic": "microphone (this computer)"}
CARD_KINDS = (("actions", "Actions"), ("decisions", "Decisions"), ("risks", "Risks"))
ENTITY_KINDS = (
    ("people", "People"),
    ("orgs", "Organisations"),
    ("dates", "Dates"),
    ("projects", "Projects"),
    ("topics", "Topics"),
)
# Sections of the backend's summary that this export renders from its own data (once, consistently).
OWN_SECTIONS = frozenset({"actions", "action items", "decisions", "risks", "entities", "transcript"})
STATUS_WORDS = {
    "recording": "still being recorded",
    "interrupted": "interrupted: the app stopped before the meeting ended; recovered on the next start",
}


@dataclass(frozen=True, slots=True)
class ExportDocument:
    """Everything an export contains. ``started_at``/``ended_at`` are aware datetimes (``None`` =
    unknown); ``status`` is the history's state ("complete", "interrupted", "recording")."""

    session_id: str
    segments: tuple[TranscriptSegment, ...] = ()
    cards: CardsEvent | None = None
    entities: EntitiesEvent | None = None
    summary_markdown: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: float = 0.0
    title: str = ""
    sources: tuple[str, ...] = ()
    backend: str = ""
    losses: tuple[LossSpan, ...] = ()
    status: str = "complete"
    outcome: str = ""
    meeting_id: str = ""

    @property
    def finals(self) -> tuple[TranscriptSegment, ...]:
        return tuple(sorted((s for s in self.segments if s.is_final and s.text.strip()), key=lambda s: s.t0))

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.speaker for s in self.finals if s.speaker))

    def timeline(self) -> list[TranscriptSegment | LossSpan]:
        """Segments and losses in time order (a loss first when both start together)."""
        items: list[TranscriptSegment | LossSpan] = [*self.losses, *self.finals]
        return sorted(items, key=lambda i: (i.start, 0) if isinstance(i, LossSpan) else (i.t0, 1))


def clock(seconds: float) -> str:
    """``mm:ss`` (or ``h:mm:ss`` past an hour) for transcript lines."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source or "?")


def speaker_tag(segment: TranscriptSegment) -> str:
    name = source_name(segment.source)
    return f"{segment.speaker} ({name})" if segment.speaker else name


def loss_text(span: LossSpan) -> str:
    """``System audio not transcribed: backend overloaded`` (``~`` times when approximate)."""
    what = SOURCE_ROLES.get(span.source, span.source).split(" (")[0]
    return f"{what[:1].upper()}{what[1:]} not transcribed: {span.cause.reason}"


def loss_range(span: LossSpan) -> str:
    mark = "~" if span.approximate else ""
    return f"{mark}{clock(span.start)}–{mark}{clock(span.end)}"


def loss_summary(losses: Sequence[LossSpan]) -> str:
    """"13 s (backend overloaded 10 s, connection lost 3 s)": how much was not transcribed, or ""."""
    by_cause: dict[LossCause, float] = {}
    for span in losses:
        by_cause[span.cause] = by_cause.get(span.cause, 0.0) + span.seconds
    total = sum(by_cause.values())
    if total <= 0:
        return ""
    ranked = sorted(by_cause.items(), key=lambda item: -item[1])
    parts = ", ".join(f"{cause.reason} {_seconds(seconds)}" for cause, seconds in ranked)
    return f"{_seconds(total)} ({parts})"


def date_line(start: datetime | None, end: datetime | None) -> str:
    """"Thursday 3 December 2026, 14:05–15:10 (UTC+01:00)", or "" without a start."""
    if start is None:
        return ""
    text = f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}"
    if end is not None:
        same_day = end.date() == start.date()
        text += f"–{end:%H:%M}" if same_day else f" – {end:%A} {end.day} {end:%B %Y}, {end:%H:%M}"
    return f"{text} ({_utc_offset(start)})"


def title_of(doc: ExportDocument) -> str:
    return doc.title or "Meeting notes"


# --------------------------------------------------------------------------- Markdown


def to_markdown(doc: ExportDocument) -> str:
    lines = [f"# {title_of(doc)}", "", *_facts(doc), ""]
    summary = summary_prose(doc.summary_markdown)
    if summary:
        lines += ["## Summary", "", demote_headings(summary), ""]
    if doc.cards is not None:
        for key, title in CARD_KINDS:
            cards: tuple[Card, ...] = getattr(doc.cards, key)
            if cards:
                lines += [f"## {title}", "", *(_card_md(c) for c in cards), ""]
    rows = _entity_rows(doc.entities)
    if rows:
        lines += ["## Entities", "", *rows, ""]
    lines += ["## Transcript", ""]
    timeline = doc.timeline()
    if not timeline:
        lines.append("_No transcript._")
    for item in timeline:
        if isinstance(item, LossSpan):
            lines.append(f"- [{loss_range(item)}] _{loss_text(item)}._")
        else:
            mark = "~" if item.approximate else ""
            lines.append(f"- [{mark}{clock(item.t0)}] **{speaker_tag(item)}:** {' '.join(item.text.split())}")
    return "\n".join(lines).rstrip() + "\n"


def _facts(doc: ExportDocument) -> list[str]:
    facts = []
    date = date_line(doc.started_at, doc.ended_at)
    if date:
        facts.append(f"- **Date:** {date}")
    if doc.duration_seconds > 0:
        facts.append(f"- **Duration:** {clock(doc.duration_seconds)}")
    if doc.sources:
        facts.append("- **Sources:** " + ", ".join(SOURCE_ROLES.get(s, s) for s in doc.sources))
    if doc.speakers:
        facts.append("- **Speakers:** " + ", ".join(doc.speakers))
    if doc.backend:
        facts.append(f"- **Backend:** {doc.backend}")
    if doc.status in STATUS_WORDS:
        facts.append(f"- **Status:** {STATUS_WORDS[doc.status]}")
    lost = loss_summary(doc.losses)
    if lost:
        facts.append(f"- **Not transcribed:** {lost}")
    if doc.session_id:
        facts.append(f"- **Session:** `{doc.session_id}`")
    return facts


def _card_md(card: Card) -> str:
    extras = [f"owner: {card.owner}" if card.owner else "", f"due: {card.due}" if card.due else ""]
    extra = ", ".join(x for x in extras if x)
    return f"- {card.text}" + (f" ({extra})" if extra else "")


def _entity_rows(entities: EntitiesEvent | None) -> list[str]:
    rows = []
    for key, title in ENTITY_KINDS:
        found: tuple[Entity, ...] = getattr(entities, key) if entities is not None else ()
        if found:
            rows.append(f"- **{title}:** " + ", ".join(_entity_md(e) for e in found))
    return rows


def _entity_md(entity: Entity) -> str:
    return f"{entity.name} (×{entity.count})" if entity.count > 1 else entity.name


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
GENERIC_TITLES = frozenset({"summary", "session summary", "meeting summary", "final summary",
                            "meeting notes"})


def summary_prose(markdown: str | None) -> str:
    """The backend's summary without what the export renders itself: its generic title and its
    actions, decisions, risks, entities and transcript sections (a section runs to the next heading
    of the same or a higher level). Fenced code is left alone."""
    out: list[str] = []
    skip_level = 0  # inside a dropped section of this heading level
    fenced = False
    for line in (markdown or "").strip().splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match is not None:
            level, name = len(match.group(1)), re.sub(r"[*_`:]", "", match.group(2)).strip().lower()
            if skip_level and level > skip_level:
                continue
            skip_level = 0
            if name in OWN_SECTIONS:
                skip_level = level
                continue
            if level == 1 and name in GENERIC_TITLES:
                continue
        elif skip_level:
            continue
        out.append(line)
    return "\n".join(out).strip()


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


def suggested_filename(doc: ExportDocument, extension: str) -> str:
    """``echopanel-2026-12-03-1405-budget-review.md``: dated, then a short slug of the title."""
    stamp = f"{doc.started_at:%Y-%m-%d-%H%M}" if doc.started_at else ""
    slug = "-".join(re.findall(r"[a-z0-9]+", doc.title.lower()))[:40].strip("-")
    if not stamp and not slug:
        slug = "".join(ch for ch in doc.session_id[:8] if ch.isalnum()) or "meeting"
    return "-".join(part for part in ("echopanel", stamp, slug) if part) + f".{extension}"


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _utc_offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        return "local time"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
