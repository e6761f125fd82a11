"""The backpressureLevel model: server ``status`` + ``metrics`` + connection state + time in,
level + one-line reason + per-source numbers out (CONTRACT.md sections 5 and 6).

Pure: no I/O; the clock is injected so tests step time instead of sleeping.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.StrEnum):
    IDLE = "idle"  # no session
    UNKNOWN = "unknown"  # streaming, but no fresh metrics, or the connection is down
    NORMAL = "normal"
    BUFFERING = "buffering"
    OVERLOADED = "overloaded"


@dataclass(frozen=True, slots=True)
class SourceLoad:
    """The numbers behind the level for one source, as last reported by the server."""

    source: str
    fill_ratio: float = 0.0
    backlog_seconds: float = 0.0
    dropped_recent_seconds: float = 0.0  # server drops attributed to this source in the recent window
    dropped_total_seconds: float = 0.0  # session-wide total as last reported
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class LevelReport:
    level: Level
    reason: str  # one line for people, e.g. "system audio queue 97 % full, 1.4 s dropped in the last 10 s"
    sources: tuple[SourceLoad, ...] = ()
    since: float = 0.0  # clock time the level was entered


IDLE_REPORT = LevelReport(Level.IDLE, "Not streaming")
