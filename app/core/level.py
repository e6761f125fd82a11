"""The vocabulary of the backend's load, shared by the backpressure model, the session's snapshots and
the UI: the ``Level`` enum and the ``LevelReport`` with its per-source numbers. Pure data.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.core.messages import Source


class Level(enum.StrEnum):
    IDLE = "idle"  # no session
    UNKNOWN = "unknown"  # streaming, but no fresh metrics, or the connection is down
    NORMAL = "normal"
    BUFFERING = "buffering"
    OVERLOADED = "overloaded"

    @property
    def severity(self) -> int:
        """0 for idle/unknown/normal, 1 buffering, 2 overloaded: what "worst" means."""
        return {Level.BUFFERING: 1, Level.OVERLOADED: 2}.get(self, 0)


@dataclass(frozen=True, slots=True)
class SourceLoad:
    """The numbers behind the level for one source, as last reported by the server."""

    source: str
    fill_ratio: float = 0.0
    backlog_seconds: float = 0.0
    dropped_recent_seconds: float = 0.0  # server drops attributed to this source in the recent window
    dropped_total_seconds: float = 0.0  # server drops attributed to this source since the model's reset
    updated_at: float = 0.0  # clock time of the last metrics for this source
    fresh: bool = True  # False: no metrics for ``stale_seconds``; not counted in the level
    realtime_factor: float | None = None  # shown, never used for the level


@dataclass(frozen=True, slots=True)
class LevelReport:
    level: Level
    reason: str  # one line for people, e.g. "system audio queue 97 % full, 1.4 s dropped in the last 10 s"
    sources: tuple[SourceLoad, ...] = ()
    since: float = 0.0  # clock time the level was entered
    dropped_total_seconds: float = 0.0  # all server drops since the model's reset, every source


IDLE_REPORT = LevelReport(Level.IDLE, "Not streaming")


def source_label(source: str) -> str:
    """ "system audio" / "microphone" for the contract's sources, else the raw name."""
    try:
        return Source(source).label
    except ValueError:
        return source or "audio"
