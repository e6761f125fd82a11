"""What a session snapshot shows, as Qt Signals that fire only when what they carry changed.

The base of ``app.ui.controller.SessionController``: the controller owns the session, and its polls
(``app.ui.polls.SnapshotPolls``) decide when to apply a snapshot (``apply_fast`` ~30 Hz: the status,
input meters, connection line; ``apply_slow`` 2 Hz: text, loss markers, diagnostics and chart samples;
``apply_hidden`` instead of both while the window cannot be seen); this class turns each snapshot
into plain values (``app.ui.present``, ``app.ui.status_view``) and emits the ones that differ from what
it emitted last. Qt main thread only. The one status (``status_changed``) drives the light, its lines,
the tray and notifications alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject, Signal, SignalInstance

from app.core.session_state import SessionSnapshot
from app.ui.models import ConnectionView
from app.ui.present import (
    chart_values,
    connection_view,
    export_document,
    input_levels,
    is_running,
    server_status_line,
    source_views,
)
from app.ui.status_view import view_of


class SnapshotView(QObject):
    status_changed = Signal(object)  # StatusView: the light and every line about it
    inputs_changed = Signal(object)  # tuple[(source, dBFS | None), ...]
    losses_changed = Signal(object)  # tuple[LossSpan, ...]
    sources_changed = Signal(object)  # tuple[SourceView, ...]
    chart_sampled = Signal(float, object)  # t (monotonic s), dict[source, fill | None]
    connection_changed = Signal(object)  # ConnectionView
    server_status_changed = Signal(str)  # "Server: <state> — <message>", "" when none
    transcript_changed = Signal(object)  # tuple[TranscriptSegment, ...]
    cards_changed = Signal(object)  # CardsEvent | None
    entities_changed = Signal(object)  # EntitiesEvent | None
    document_changed = Signal(object)  # ExportDocument | None

    def __init__(self, backend_label: Callable[[], str], clock: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._backend_label = backend_label
        self._clock = clock
        self._running = False  # a session task runs
        self._finishing = False  # while the ended session's last snapshot is applied
        self._selected: frozenset[str] = frozenset()  # the sources the session captures
        self._last: dict[str, object] = {}  # what each signal emitted last
        self.meeting_started: datetime | None = None  # when the current meeting started (for exports)

    def apply_snapshot(self, snap: SessionSnapshot) -> None:
        """Push one snapshot through both cadences (the self-test and tests drive this directly)."""
        self.apply_fast(snap)
        self.apply_slow(snap)

    def apply_fast(self, snap: SessionSnapshot) -> None:
        self._emit_if_changed("status", view_of(snap), self.status_changed)
        # With the light, not at the text cadence: a load warning must go when the light turns green.
        self._emit_if_changed("server-status", server_status_line(snap), self.server_status_changed)
        self._emit_if_changed("inputs", input_levels(snap, self._selected), self.inputs_changed)
        view = connection_view(snap, self._backend_label(), self._view_running(snap))
        self._emit_if_changed("connection", view, self.connection_changed)

    def apply_hidden(self, snap: SessionSnapshot) -> None:
        """While the window cannot be seen (in the tray, minimized): only what is seen now or kept for
        later. The status (the tray icon and tooltip show it) and whether the connection runs (the tray
        menu's Start/Stop); the chart's samples (its 60 s history, shown once the window is); the transcript
        and its loss markers (a hidden pane takes each change cheaply, while a long absence's text
        rendered at once on show would stall the loop). Not the meters, the server's status line, the
        source panels, cards, entities or the export document: ``apply_snapshot`` catches them up when
        the window is shown again."""
        self.apply_status(snap)
        self.chart_sampled.emit(self._clock(), chart_values(snap))
        self._apply_transcript(snap)

    def apply_status(self, snap: SessionSnapshot) -> None:
        """What the tray shows of a session (``apply_hidden``): the status, and whether the connection
        runs (the menu's Start/Stop); the rest of the connection line (its clock ticks every second)
        waits for the window."""
        self._emit_if_changed("status", view_of(snap), self.status_changed)
        running = self._view_running(snap)
        last = self._last.get("connection")
        if not isinstance(last, ConnectionView) or last.running != running:
            view = connection_view(snap, self._backend_label(), running)
            self._emit_if_changed("connection", view, self.connection_changed)

    def _view_running(self, snap: SessionSnapshot) -> bool:
        """Running while the session task runs, or while the snapshot's state says so (the self-test and
        tests push snapshots without a session); never for the last snapshot of a session that ended."""
        return self._running or (not self._finishing and is_running(snap))

    def apply_slow(self, snap: SessionSnapshot) -> None:
        views = source_views(snap, self._selected, self._clock())
        self._emit_if_changed("sources", views, self.sources_changed)
        self.chart_sampled.emit(self._clock(), chart_values(snap))
        self._apply_transcript(snap)
        self._emit_if_changed("cards", snap.cards, self.cards_changed)
        self._emit_if_changed("entities", snap.entities, self.entities_changed)
        content = (snap.session_id, snap.transcript_revision, snap.cards, snap.entities, snap.losses)
        if self._changed("document-content", (*content, snap.summary_markdown)):  # only when it can differ
            sources = tuple(sorted(self._selected, reverse=True))  # system, then mic
            doc = export_document(snap, self.meeting_started, self._backend_label(), sources)
            self._emit_if_changed("document", doc, self.document_changed)

    def _apply_transcript(self, snap: SessionSnapshot) -> None:
        self._emit_if_changed("losses", snap.losses, self.losses_changed)
        if self._changed("transcript", (snap.session_id, snap.transcript_revision)):
            self.transcript_changed.emit(snap.transcript)

    def _changed(self, key: str, value: object) -> bool:
        if key in self._last and self._last[key] == value:
            return False
        self._last[key] = value
        return True

    def _emit_if_changed(self, key: str, value: object, signal: SignalInstance) -> None:
        if self._changed(key, value):
            signal.emit(value)
