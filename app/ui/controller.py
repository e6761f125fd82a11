"""The Qt <-> asyncio seam: owns the running session, polls its snapshot on timers and exposes
Signals that fire only when what they carry changed (the snapshot's signals and their change
detection are the base class, ``app.ui.snapshot_view.SnapshotView``).

Execution context: everything here runs on the Qt main thread, which is also the asyncio loop
thread (qasync). The session is plain asyncio and knows nothing about Qt; widgets know nothing
about the session. Cadence (STYLE 9): ~30 Hz for the light, input meters and connection line, 2 Hz
for text (transcript, loss markers, cards, entities, summary) and diagnostics (the server's last
status, queue panels, chart samples); a status change or a server status/metrics event from the
session triggers an immediate poll, so the light does not wait for the next tick (while the window
is hidden, only a status change does). No timer runs while no session exists. Once the session
ticks (every 240 ms while it streams), its ticks drive the fast poll instead of the ~30 Hz timer:
one wake-up per tick for the audio and the window. While the window is hidden (in the tray) or
minimized (``set_window_shown(False)``) there is no fast poll at all: nothing shows the meters, and
the light (the tray icon) still follows at once, from the event-triggered poll, and from the 2 Hz
poll. Those polls then apply only what the tray shows and
what the window keeps for later (``SnapshotView.apply_hidden``: the status, whether the connection
runs, chart samples, the transcript); showing the window catches up the rest in one full poll.

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

from PySide6.QtCore import QObject, QTimer, Signal

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
from app.ui.present import is_running
from app.ui.session_handle import SessionFactory, SessionHandle
from app.ui.snapshot_view import SnapshotView
from app.ui.status_view import failed_view, status_view, view_of

log = logging.getLogger(__name__)

FAST_INTERVAL_MS = 33
SLOW_INTERVAL_MS = 500
STOP_WAIT_SECONDS = 60.0  # the summary can take a while after stop (CONTRACT 4.3)

ReceiveProbe = Callable[[float, SessionEvent], None]


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
        self._window_shown = True
        self._ticking = False  # the session's ticks drive the fast poll (its own timer is stopped)
        self._poll_pending = False
        self._received_at: float | None = None
        self._failure = ""  # the message the running session's task ended with
        self.receive_probe: ReceiveProbe | None = None
        self._fast = QTimer(self)
        self._fast.setInterval(FAST_INTERVAL_MS)
        self._fast.timeout.connect(self.poll_fast)
        self._slow = QTimer(self)
        self._slow.setInterval(SLOW_INTERVAL_MS)
        self._slow.timeout.connect(self.poll_slow)

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
        session.add_tick_listener(lambda: self._on_tick(session))
        self._ticking = False
        self._session = session
        self._selected = self._selected_sources()
        self.meeting_started = datetime.now().astimezone()
        self._last.clear()
        self._failure = ""
        self._set_running(True)
        self._task = asyncio.ensure_future(self._run(session))
        if self._window_shown:
            self._fast.start()
        self._slow.start()
        self.poll_fast()
        self.poll_slow()

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
        self._fast.stop()
        self._slow.stop()

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

    def _on_tick(self, session: SessionHandle) -> None:
        """A tick of the session: the fast poll in the same wake-up (one wake-up per tick for the
        session and the window); the ~30 Hz timer is only needed until the ticks begin."""
        if session is not self._session:
            return
        if not self._ticking:
            self._ticking = True
            self._fast.stop()
        if self._window_shown and not self._poll_pending:
            self.poll_fast()

    def set_window_shown(self, shown: bool) -> None:
        """The window became visible (True) or hidden/minimized (False): the fast poll runs only
        while someone can see what it draws (``app.ui.visibility.VisibilityWatch`` calls this)."""
        if shown == self._window_shown:
            return
        self._window_shown = shown
        if not shown:
            self._fast.stop()
        elif self._session is not None:
            if not self._ticking:
                self._fast.start()
            self.poll_slow()  # catch up at once: the meters, panels and text skipped while hidden

    @property
    def window_shown(self) -> bool:
        return self._window_shown

    @property
    def fast_polling(self) -> bool:
        """The fast poll runs: a session runs and the window can be seen; from the session's ticks
        once they began, else from the ~30 Hz timer."""
        shown = self._session is not None and self._window_shown
        return shown and (self._ticking or self._fast.isActive())

    # ------------------------------------------------------------------ polling

    def poll_fast(self) -> None:
        self._poll_pending = False
        try:
            if self._session is None:
                return
            snapshot = self._session.snapshot()
            if self._window_shown:
                self.apply_fast(snapshot)
            else:  # a status change while in the tray: what the tray shows, no hidden meters
                self.apply_status(snapshot)
        finally:
            self._received_at = None

    @property
    def received_at(self) -> float | None:
        """While a poll runs: ``perf_counter()`` of the first server status/metrics it reflects that
        arrived since the previous poll, else ``None``. What the UI benchmark measures latency from."""
        return self._received_at

    def poll_slow(self) -> None:
        if self._session is None:
            return
        snapshot = self._session.snapshot()
        if self._window_shown:
            # also the fast part: after the last tick (the summary wait) the connection line follows here
            self.apply_fast(snapshot)
            self.apply_slow(snapshot)
        else:  # the tray icon and tooltip follow from here; what only the window shows waits for it
            self.apply_hidden(snapshot)

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
        self._fast.stop()
        self._slow.stop()
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
        """Session events arrive on the loop thread; lamp-relevant ones trigger an immediate poll. While
        the window is hidden, only the light's own event does: the tray shows the light and its words
        (``StatusChanged``); the server's status and metrics (a poll each, about twice a second) feed
        only what the window shows, which the 2 Hz poll keeps current."""
        if isinstance(event, ServerStatus | ServerMetrics | StatusChanged):
            now = time.perf_counter()
            if self._received_at is None:
                self._received_at = now
            if self.receive_probe is not None:
                self.receive_probe(now, event)
            if not self._poll_pending and (self._window_shown or isinstance(event, StatusChanged)):
                self._poll_pending = True
                QTimer.singleShot(0, self.poll_fast)
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
