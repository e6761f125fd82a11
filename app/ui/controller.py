"""The Qt <-> asyncio seam: owns the running session (start, stop, the ordered shutdown, how it ended)
and exposes Signals that fire only when what they carry changed (the snapshot's signals and their
change detection are the base class, ``app.ui.snapshot_view.SnapshotView``; when the snapshot is
pulled and which part is applied is ``polls``, an ``app.ui.polls.SnapshotPolls``).

Execution context: everything here runs on the Qt main thread, which is also the asyncio loop
thread (qasync). The session is plain asyncio and knows nothing about Qt; widgets know nothing
about the session.

A session that fails is shown by the light ("failed" and why, from the snapshot, or from the run
task's error when no snapshot said so), not repeated as a message; ``message`` carries the rest
(a session that could not be made, warnings, the summary's arrival).

The injected ``clock`` must be the session's clock (both ``time.monotonic`` in the app): it stamps
chart samples and says how old a stale source's numbers are (``SourceLoad.updated_at``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject, Signal

from app.core.reconnect import fixed_in_settings
from app.core.session_state import (
    ServerMetrics,
    ServerStatus,
    SessionEnded,
    SessionEvent,
    SessionFailed,
    SessionWarning,
    StatusChanged,
    StopOutcome,
    SummaryReady,
)
from app.core.status_report import IDLE_STATUS, Light
from app.errors import EchoPanelError
from app.ui.message_bar import Severity
from app.ui.polls import SnapshotPolls
from app.ui.present import is_running
from app.ui.session_handle import SessionFactory, SessionHandle
from app.ui.snapshot_view import SnapshotView
from app.ui.status_view import failed_view, status_view, view_of

log = logging.getLogger(__name__)

STOP_WAIT_SECONDS = 60.0  # the summary can take a while after stop (CONTRACT 4.3)


class SessionController(SnapshotView):
    message = Signal(str, object)  # text, Severity
    settings_offered = Signal()  # the message just sent is fixed in the settings: offer to open them
    running_changed = Signal(bool)
    throttling_changed = Signal(bool)

    def __init__(
        self,
        factory: SessionFactory | None,
        backend_label: Callable[[], str] = lambda: "Built-in backend",
        selected_sources: Callable[[], frozenset[str]] = lambda: frozenset({"system", "mic"}),
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(backend_label, clock, parent)
        self._factory = factory
        self._selected_sources = selected_sources
        self._session: SessionHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._closing = False  # shutdown began: no new session may start
        self._throttling = False
        self._failure = ""  # the message the running session's task ended with
        self.polls = SnapshotPolls(self, lambda: self._session)

    # ------------------------------------------------------------------ commands

    def is_running(self) -> bool:
        return self._running

    def throttling(self) -> bool:
        return self._throttling

    def toggle(self) -> None:
        if self._running:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        """Create and run a session. A factory error (bad settings, no device) becomes a message."""
        if self._running or self._factory is None or self._closing:
            return
        try:
            session = self._factory(self._on_event)
        except EchoPanelError as exc:
            self.message.emit(str(exc), Severity.ERROR)
            return
        session.set_throttling(self._throttling)
        self.polls.follow(session)
        self._session = session
        self._selected = self._selected_sources()
        self.meeting_started = datetime.now().astimezone()
        self._last.clear()
        self._failure = ""
        self._set_running(True)
        self._task = asyncio.ensure_future(self._run(session))
        self.polls.start()

    def stop(self) -> None:
        """Ask the running session to stop (flush, stop, summary); returns at once."""
        if self._session is None or self._stopping is not None:
            return
        self._stopping = asyncio.ensure_future(self._stop(self._session))

    async def shutdown(self, timeout: float = STOP_WAIT_SECONDS) -> None:
        """Stop the session (if any) and wait for it to end: the first step of the ordered shutdown.
        ``abort()`` cuts the wait short. No session starts once this was called."""
        self._closing = True
        self.stop()
        pending = [t for t in (self._stopping, self._task) if t is not None and not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=5.0)
        self.polls.stop()

    def abort(self) -> None:
        """Quit now: cancel the summary wait and the session (what ``shutdown`` would do at its timeout)."""
        for task in (self._stopping, self._task):
            if task is not None and not task.done():
                task.cancel()

    def set_throttling(self, enabled: bool) -> None:
        """Live: applies to the running session at once and to every later one."""
        if enabled == self._throttling:
            return
        self._throttling = enabled
        if self._session is not None:
            self._session.set_throttling(enabled)
        self.throttling_changed.emit(enabled)

    # ------------------------------------------------------------------ session lifecycle

    async def _run(self, session: SessionHandle) -> None:
        try:
            await session.run()
        except EchoPanelError as exc:  # the light says it ("failed" and why), once
            self._failure = str(exc)
            if fixed_in_settings(exc):
                self.settings_offered.emit()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("session crashed")
            self._failure = "The session stopped on an internal error; details are in the log."
        finally:
            self._finish(session)

    async def _stop(self, session: SessionHandle) -> None:
        try:
            await session.stop()
        except EchoPanelError as exc:
            self.message.emit(str(exc), Severity.ERROR)
        except Exception:  # the same failure ends the run task, which reports it once
            log.debug("stop ended on an error; the session task reports it", exc_info=True)
        finally:
            self._stopping = None

    def _finish(self, session: SessionHandle) -> None:
        self.polls.stop()
        self._set_running(False)
        snap = session.snapshot()
        self._last.pop("connection", None)  # repaint the connection line with running=False
        self._finishing = True
        try:
            self.apply_snapshot(snap)
        finally:
            self._finishing = False
        if self._failure and view_of(snap).light is not Light.FAILED:  # the end failed: say so
            self._emit_if_changed("status", failed_view(self._failure), self.status_changed)
        elif is_running(snap):  # the session ended without settling its state: show idle
            self._emit_if_changed("status", status_view(IDLE_STATUS), self.status_changed)
            self._emit_if_changed("server-status", "", self.server_status_changed)
        self._session = None
        self._task = None

    def _set_running(self, running: bool) -> None:
        if running != self._running:
            self._running = running
            self.running_changed.emit(running)

    def _on_event(self, event: SessionEvent) -> None:
        """Session events arrive on the loop thread; lamp-relevant ones trigger an immediate poll
        (``SnapshotPolls.on_event`` says when)."""
        if isinstance(event, ServerStatus | ServerMetrics | StatusChanged):
            self.polls.on_event(event)
        elif isinstance(event, SessionFailed):  # the snapshot says it: the light shows "failed" and why
            if event.fix_in_settings:
                self.settings_offered.emit()
        elif isinstance(event, SessionWarning):
            self.message.emit(event.message, Severity.WARNING)
        elif isinstance(event, SummaryReady):
            self.message.emit("The final summary arrived: see the Summary tab.", Severity.INFO)
        elif isinstance(event, SessionEnded) and event.outcome is StopOutcome.NO_SUMMARY:
            self.message.emit(
                event.message
                or "The session ended but the backend sent no summary; the live notes are kept.",
                Severity.WARNING,
            )
