"""The poll cadence: when the window pulls the running session's snapshot, and which part of it it
applies (``app.ui.snapshot_view.SnapshotView``'s ``apply_*``). The controller
(``app.ui.controller.SessionController``) owns the session and says when one begins and ends; this
class owns the timers, the tick hook, whether the window can be seen and the event-triggered poll.

Execution context: the Qt main thread, which is also the asyncio loop thread (qasync). Cadence
(STYLE 9): ~30 Hz for the light, input meters and connection line, 2 Hz for text (transcript, loss
markers, cards, entities, summary) and diagnostics (the server's last status, queue panels, chart
samples); a status change or a server status/metrics event from the session triggers an immediate
poll, so the light does not wait for the next tick (while the window is hidden, only a status change
does). No timer runs while no session exists. Once the session ticks (every 240 ms while it
streams), its ticks drive the fast poll instead of the ~30 Hz timer: one wake-up per tick for the
audio and the window. While the window is hidden (in the tray) or minimized
(``set_window_shown(False)``) there is no fast poll at all: nothing shows the meters, and the light
(the tray icon) still follows at once, from the event-triggered poll, and from the 2 Hz poll. Those
polls then apply only what the tray shows and what the window keeps for later
(``SnapshotView.apply_hidden``: the status, whether the connection runs, chart samples, the
transcript); showing the window catches up the rest in one full poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from app.core.session_state import ServerMetrics, ServerStatus, SessionEvent, SessionSnapshot, StatusChanged
from app.ui.session_handle import SessionHandle
from app.ui.snapshot_view import SnapshotView

FAST_INTERVAL_MS = 33
SLOW_INTERVAL_MS = 500

ReceiveProbe = Callable[[float, SessionEvent], None]


class SnapshotPolls(QObject):
    """Polls ``session()`` (the controller's current session, or ``None``) into ``view``."""

    def __init__(self, view: SnapshotView, session: Callable[[], SessionHandle | None]) -> None:
        super().__init__(view)
        self._view = view
        self._session = session
        self._window_shown = True
        self._ticking = False  # the session's ticks drive the fast poll (its own timer is stopped)
        self._pending = False  # an event-triggered poll is queued
        self._received_at: float | None = None
        self.receive_probe: ReceiveProbe | None = None
        self._fast = QTimer(self)
        self._fast.setInterval(FAST_INTERVAL_MS)
        self._fast.timeout.connect(self.poll_fast)
        self._slow = QTimer(self)
        self._slow.setInterval(SLOW_INTERVAL_MS)
        self._slow.timeout.connect(self.poll_slow)

    # ------------------------------------------------------------------ a session begins and ends

    def follow(self, session: SessionHandle) -> None:
        """A new session: its ticks will drive the fast poll once they begin."""
        session.add_tick_listener(lambda: self._on_tick(session))
        self._ticking = False

    def start(self) -> None:
        """The session runs: start the timers (the fast one only if the window can be seen) and poll once."""
        if self._window_shown:
            self._fast.start()
        self._slow.start()
        self.poll_fast()
        self.poll_slow()

    def stop(self) -> None:
        self._fast.stop()
        self._slow.stop()

    def _on_tick(self, session: SessionHandle) -> None:
        """A tick of the session: the fast poll in the same wake-up (one wake-up per tick for the
        session and the window); the ~30 Hz timer is only needed until the ticks begin."""
        if session is not self._session():
            return
        if not self._ticking:
            self._ticking = True
            self._fast.stop()
        if self._window_shown and not self._pending:
            self.poll_fast()

    def on_event(self, event: ServerStatus | ServerMetrics | StatusChanged) -> None:
        """A lamp-relevant session event: poll at once. While the window is hidden, only the light's own
        event does: the tray shows the light and its words (``StatusChanged``); the server's status and
        metrics (a poll each, about twice a second) feed only what the window shows, which the 2 Hz poll
        keeps current."""
        now = time.perf_counter()
        if self._received_at is None:
            self._received_at = now
        if self.receive_probe is not None:
            self.receive_probe(now, event)
        if not self._pending and (self._window_shown or isinstance(event, StatusChanged)):
            self._pending = True
            QTimer.singleShot(0, self.poll_fast)

    # ------------------------------------------------------------------ the window's visibility

    def set_window_shown(self, shown: bool) -> None:
        """The window became visible (True) or hidden/minimized (False): the fast poll runs only
        while someone can see what it draws (``app.ui.visibility.VisibilityWatch`` calls this)."""
        if shown == self._window_shown:
            return
        self._window_shown = shown
        if not shown:
            self._fast.stop()
        elif self._session() is not None:
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
        shown = self._session() is not None and self._window_shown
        return shown and (self._ticking or self._fast.isActive())

    # ------------------------------------------------------------------ the polls

    def poll_fast(self) -> None:
        self._pending = False
        try:
            snapshot = self._snapshot()
            if snapshot is None:
                return
            if self._window_shown:
                self._view.apply_fast(snapshot)
            else:  # a status change while in the tray: what the tray shows, no hidden meters
                self._view.apply_status(snapshot)
        finally:
            self._received_at = None

    @property
    def received_at(self) -> float | None:
        """While a poll runs: ``perf_counter()`` of the first server status/metrics it reflects that
        arrived since the previous poll, else ``None``. What the UI benchmark measures latency from."""
        return self._received_at

    def poll_slow(self) -> None:
        snapshot = self._snapshot()
        if snapshot is None:
            return
        if self._window_shown:
            # also the fast part: after the last tick (the summary wait) the connection line follows here
            self._view.apply_fast(snapshot)
            self._view.apply_slow(snapshot)
        else:  # the tray icon and tooltip follow from here; what only the window shows waits for it
            self._view.apply_hidden(snapshot)

    def _snapshot(self) -> SessionSnapshot | None:
        session = self._session()
        return session.snapshot() if session is not None else None
