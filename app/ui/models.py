"""Plain values the controller hands to widgets (no Qt, no session): what each panel shows.

Widgets take these and nothing else, so they can be built and tested without a session.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceView:
    """One source panel: the server's queue numbers for that source plus the client's own drops."""

    source: str  # "system" | "mic"
    active: bool = False  # part of the current/last session
    fill_ratio: float | None = None  # None: no metrics yet
    backlog_seconds: float | None = None
    dropped_recent_seconds: float = 0.0
    dropped_total_seconds: float = 0.0
    client_dropped_seconds: float = 0.0  # shed by our own bounded buffer
    fresh: bool = True  # False: the server stopped sending metrics; the numbers are the last known ones
    age_seconds: float | None = None  # when stale: whole seconds since those numbers arrived, if known

    @property
    def title(self) -> str:
        return "System audio" if self.source == "system" else "Microphone"


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """The connection line: a short state word plus the detail, and whether a session is running."""

    state: str  # ConnectionState value
    detail: str
    running: bool
    backend: str  # "Built-in backend" or the URL
    elapsed_seconds: float = 0.0
    reconnects: int = 0
    throttle_note: str = ""
