"""The one status, as every view of it shows it (pure, no Qt): the lamp, the headline and detail
lines beside it, the small server-load badge, the silent-source warning, the window title, the
tray icon and tooltip and the notifications all read one ``StatusView``, made from one snapshot's
``StatusReport`` (``app.core.status``), so they can never disagree.

Each line is derived from the current report only, so it clears when its cause does: no stale
server status beside a green light, no error of a failed session in the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.level import Level
from app.core.session_state import ConnectionState, SessionSnapshot
from app.core.status import SOURCE_WORDS, StatusConfig
from app.core.status_report import LABELS, Light, StatusReport

APP_NAME = "EchoPanel Companion"
IDLE_HINT = "Press Start (Ctrl+Return) to transcribe a meeting."
SERVER_WORDS = {Level.NORMAL: "normal", Level.BUFFERING: "buffering", Level.OVERLOADED: "overloaded",
                Level.UNKNOWN: "not reported", Level.IDLE: ""}
_RUNNING = {ConnectionState.CHECKING, ConnectionState.CONNECTING, ConnectionState.STREAMING,
            ConnectionState.RECONNECTING, ConnectionState.STOPPING}
_SILENCE_SECONDS = StatusConfig().silence_warn_seconds
_WAITING = {ConnectionState.CHECKING: "Connecting", ConnectionState.CONNECTING: "Connecting",
            ConnectionState.STREAMING: "Not measured yet", ConnectionState.RECONNECTING: "Reconnecting",
            ConnectionState.STOPPING: "Finishing"}


@dataclass(frozen=True, slots=True)
class StatusView:
    light: Light
    headline: str  # the first line beside the lamp, never a repeat of ``label``
    detail: str = ""  # the second line: why, or what to do
    server_level: Level = Level.IDLE
    silent_source: str | None = None

    @property
    def label(self) -> str:
        """The lamp's caption: "Live", "Behind", "Losing audio", "Not measured", "Failed"..."""
        return LABELS[self.light]

    @property
    def server_line(self) -> str:
        """The small secondary badge: the server's own backpressureLevel; "" without a session."""
        words = SERVER_WORDS[self.server_level]
        return f"Backend load: {words}" if words else ""

    @property
    def silent_line(self) -> str:
        if self.silent_source is None:
            return ""
        name = SOURCE_WORDS.get(self.silent_source, self.silent_source)
        others = [w for s, w in SOURCE_WORDS.items() if s != self.silent_source]
        other = others[0] if others else "the other source"
        return (f"⚠ {name[:1].upper()}{name[1:]} silent for {_SILENCE_SECONDS:.0f} s while {other} is not: "
                f"is it muted, or the wrong device?")

    @property
    def reason(self) -> str:
        """The light's reason in one line (accessible description, tooltips, notifications)."""
        return self.headline

    def tooltip(self) -> str:
        """The tray tooltip: the label, then the headline (which never repeats it)."""
        head = f"{APP_NAME} — {self.label}"
        return f"{head}: {self.headline}" if self.headline else head

    def title(self) -> str:
        return f"{APP_NAME} — {self.label}"


def status_of(snap: SessionSnapshot) -> StatusReport:
    """The snapshot's report, made consistent with its connection state for snapshots that were not
    made by a session's status model (before the session exists, after it failed to start)."""
    report = snap.status
    if snap.state is ConnectionState.FAILED and report.light is not Light.FAILED:
        why = snap.error or snap.detail or "The session ended with an error."
        return StatusReport(Light.FAILED, "Failed", why, lost_seconds=report.lost_seconds)
    if snap.state in _RUNNING and report.light is Light.IDLE:
        return StatusReport(Light.UNKNOWN, _WAITING[snap.state], snap.detail)
    if snap.state not in _RUNNING and snap.state is not ConnectionState.FAILED and report.light.severity:
        return StatusReport(Light.IDLE, "Not streaming", lost_seconds=report.lost_seconds)
    return report


def status_view(report: StatusReport) -> StatusView:
    """Plain words first; the headline never repeats the lamp's label (the detail moves up instead)."""
    headline, detail = report.headline, report.detail
    if report.light is Light.FAILED:
        headline, detail = "The session failed", detail or "The session ended with an error."
    prefix = f"{report.label.lower()}:"
    if headline.lower().startswith(prefix):  # "Losing audio: backend overloaded" beside "Losing audio"
        rest = headline[len(prefix):].strip()
        headline = rest[:1].upper() + rest[1:]
    if _same(headline, report.label):
        headline, detail = detail, ""
    if not headline and report.light is Light.IDLE:
        headline = IDLE_HINT
    if _same(detail, headline):
        detail = ""
    silent = report.silent_source if report.light not in (Light.IDLE, Light.FAILED) else None
    return StatusView(report.light, headline, detail, report.server_level, silent)


def view_of(snap: SessionSnapshot) -> StatusView:
    view = status_view(status_of(snap))
    measured = any(load.updated_at > 0 for load in snap.level.sources)
    if view.server_level is Level.NORMAL and not measured:  # "waiting for the first metrics" is no "normal"
        return StatusView(view.light, view.headline, view.detail, Level.UNKNOWN, view.silent_source)
    return view


def failed_view(message: str) -> StatusView:
    """A session that ended on an error before its snapshot could say so."""
    return status_view(StatusReport(Light.FAILED, "Failed", message))


def _same(a: str, b: str) -> bool:
    return a.strip(" .").lower() == b.strip(" .").lower()
