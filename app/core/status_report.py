"""The vocabulary of the status light (``app.core.status`` decides it): the lights and the one report
that every view of the status shows. Pure data.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.core.level import Level


class Light(enum.StrEnum):
    IDLE = "idle"
    UNKNOWN = "unknown"
    LIVE = "live"
    BEHIND = "behind"
    LOSING = "losing"
    FAILED = "failed"

    @property
    def severity(self) -> int:
        return {Light.BEHIND: 1, Light.LOSING: 2, Light.FAILED: 3}.get(self, 0)


@dataclass(frozen=True, slots=True)
class StatusReport:
    light: Light
    headline: str  # plain words first: "Transcript 21 s behind, catching up"
    detail: str = ""  # one more line: why, or what the user can do
    behind_seconds: float = 0.0
    lost_seconds: float = 0.0  # lost in the whole session so far
    server_level: Level = Level.IDLE
    since: float = 0.0  # clock time the light was entered
    silent_source: str | None = None  # a source silent for a while although the other is not

    @property
    def label(self) -> str:
        return LABELS[self.light]


LABELS = {Light.IDLE: "Not streaming", Light.UNKNOWN: "Not measured", Light.LIVE: "Live",
          Light.BEHIND: "Behind", Light.LOSING: "Losing audio", Light.FAILED: "Failed"}
IDLE_STATUS = StatusReport(Light.IDLE, "Not streaming")
