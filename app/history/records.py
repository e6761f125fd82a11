"""What the history holds, as plain frozen values: what a new meeting starts with, a row of the
meeting list, a whole stored meeting. Times: ``started_at``/``ended_at`` are Unix seconds (UTC);
everything inside a meeting (segments, levels, losses) is session time, seconds from its start.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from app.core.losses import LossSpan
from app.core.messages import CardsEvent, EntitiesEvent
from app.core.session_state import TranscriptSegment


class MeetingState(enum.StrEnum):
    RECORDING = "recording"  # a session is running and writing it (or the app died: see recovery)
    COMPLETE = "complete"  # the session ended and everything it produced was saved
    INTERRUPTED = "interrupted"  # the app stopped without ending it (crash, kill, power cut): recovered


class Origin(enum.StrEnum):
    WINDOW = "window"
    HEADLESS = "headless"


@dataclass(frozen=True, slots=True)
class MeetingInfo:
    """What a meeting starts with."""

    started_at: float
    origin: Origin = Origin.WINDOW
    backend: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AudioFile:
    """One source's local recording: ``path`` relative to the data folder; ``offset`` = session time of
    its first sample."""

    source: str
    path: str
    offset: float = 0.0


@dataclass(frozen=True, slots=True)
class MeetingRow:
    """One line of the history list (no transcript: listing 500 meetings must stay cheap)."""

    id: int
    uid: str
    started_at: float
    duration: float
    state: MeetingState
    outcome: str
    title: str
    lost_seconds: float
    segment_count: int
    sources: tuple[str, ...]
    origin: str
    has_audio: bool
    snippet: str = ""  # where a search matched


@dataclass(frozen=True, slots=True)
class LevelMark:
    """The light changed to ``level`` (``app.core.level.Level`` value) at session time ``t``."""

    t: float
    level: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StoredMeeting:
    row: MeetingRow
    ended_at: float | None
    backend: str
    message: str
    session_id: str = ""
    summary_title: str = ""  # the title the summary gave ("" = none; ``row.title`` falls back to words)
    segments: tuple[TranscriptSegment, ...] = ()
    levels: tuple[LevelMark, ...] = ()
    losses: tuple[LossSpan, ...] = ()
    summary_markdown: str | None = None
    cards: CardsEvent | None = None
    entities: EntitiesEvent | None = None
    end: dict[str, Any] = field(default_factory=dict)  # the session_end counters, as stored
    audio: tuple[AudioFile, ...] = ()
