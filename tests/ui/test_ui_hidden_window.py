"""While the window is in the tray or minimized, nothing polls at 30 Hz for meters nobody sees; the
lamp (and so the tray icon) still follows the session, and showing the window catches up at once."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt

from app.core.level import Level, LevelReport
from app.core.messages import MetricsEvent
from app.core.session_state import (
    ConnectionState,
    ServerMetrics,
    SessionSnapshot,
    StatusChanged,
    TranscriptSegment,
)
from app.core.status_report import Light, StatusReport
from app.ui.binding import bind
from app.ui.controller import SessionController
from app.ui.visibility import VisibilityWatch
from app.ui.window import MainWindow


class StreamingSession:
    """A ``SessionHandle`` stand-in whose snapshot the test sets: only the controller is under test."""

    def __init__(self) -> None:
        self.snap = SessionSnapshot(state=ConnectionState.STREAMING)
        self.snapshots = 0
        self.running = False
        self.tick_listeners: list = []
        self.listeners: list = []  # the controller's event listener

    def made(self, listener) -> StreamingSession:
        """The controller's session factory: this session, whose events go to ``listener``."""
        self.listeners.append(listener)
        return self

    def snapshot(self) -> SessionSnapshot:
        self.snapshots += 1
        return self.snap

    async def run(self) -> None:
        self.running = True
        self._end = asyncio.Event()
        await self._end.wait()  # until stop(): a session that ends normally, no cancellation

    async def stop(self) -> None:
        self._end.set()

    def set_throttling(self, enabled: bool) -> None:
        pass

    def add_tick_listener(self, listener) -> None:
        self.tick_listeners.append(listener)

    def tick(self) -> None:
        for listener in self.tick_listeners:
            listener()


@pytest.fixture
def controllers(qtbot, qloop):
    """Every controller a test made: its never-ending session is cancelled before the loop closes."""
    made: list[SessionController] = []
    yield made
    for controller in made:
        controller.stop()
        qtbot.waitUntil(lambda c=controller: not c.is_running(), timeout=5_000)


def started(qtbot, controllers, shown: bool = True) -> tuple[MainWindow, SessionController, StreamingSession]:
    """A window and a controller whose session streams; ``shown=False``: the window was never shown (the
    app started in the tray)."""
    window = MainWindow()
    qtbot.addWidget(window)
    session = StreamingSession()
    controller = SessionController(session.made, parent=window)
    controllers.append(controller)
    bind(window, controller)
    VisibilityWatch(window, controller.polls.set_window_shown)
    if shown:
        window.show()
        qtbot.waitExposed(window)
    controller.start()
    qtbot.waitUntil(lambda: session.running, timeout=5_000)
    return window, controller, session


def test_hiding_or_minimizing_the_window_stops_the_fast_poll_and_showing_it_resumes(qtbot, controllers):
    window, controller, session = started(qtbot, controllers)
    assert controller.polls.window_shown and controller.polls.fast_polling
    window.hide()  # closed to the tray
    assert not controller.polls.window_shown and not controller.polls.fast_polling
    window.show()
    assert controller.polls.window_shown and controller.polls.fast_polling
    window.setWindowState(Qt.WindowState.WindowMinimized)
    assert not controller.polls.window_shown and not controller.polls.fast_polling
    before = session.snapshots
    window.setWindowState(Qt.WindowState.WindowNoState)
    window.show()
    assert controller.polls.window_shown and controller.polls.fast_polling
    assert session.snapshots > before  # caught up at once, not at the next tick


def test_a_hidden_window_still_follows_the_light_for_the_tray(qtbot, controllers):
    window, controller, session = started(qtbot, controllers)
    lights: list[Light] = []
    controller.status_changed.connect(lambda view: lights.append(view.light))
    window.hide()
    session.snap = SessionSnapshot(state=ConnectionState.STREAMING,
                                   level=LevelReport(Level.OVERLOADED, "system audio queue 97 % full"),
                                   status=StatusReport(Light.LOSING, "3 s of audio could not be transcribed"))
    controller.polls.poll_slow()  # the 2 Hz poll, which keeps running
    assert lights[-1] is Light.LOSING


def test_a_session_started_while_hidden_polls_fast_only_once_shown(qtbot, controllers):
    window, controller, _ = started(qtbot, controllers, shown=False)
    assert controller.is_running() and not controller.polls.fast_polling
    window.show()
    assert controller.polls.fast_polling


def test_once_the_session_ticks_its_ticks_drive_the_poll_instead_of_a_timer(qtbot, controllers):
    """One wake-up per tick: the 30 Hz timer only bridges the time before the session streams."""
    window, controller, session = started(qtbot, controllers)
    assert controller.polls.fast_polling
    session.tick()
    assert not controller.polls._fast.isActive() and controller.polls.fast_polling  # the ticks poll now
    before = session.snapshots
    session.tick()
    session.tick()
    assert session.snapshots == before + 2  # one poll per tick
    window.hide()
    session.tick()
    assert session.snapshots == before + 2 and not controller.polls.fast_polling  # hidden: no poll at all
    window.show()
    assert controller.polls.fast_polling and not controller.polls._fast.isActive()  # the ticks still drive it


def test_while_hidden_only_the_lights_own_event_polls_at_once(qtbot, controllers):
    """The tray follows the light (StatusChanged) at once; the server's metrics, which come about twice
    a second, poll at once only while the window shows what they change."""
    window, controller, session = started(qtbot, controllers, shown=False)
    [listener] = session.listeners
    listener(ServerMetrics(1.0, MetricsEvent(source="system", queue_fill_ratio=0.2)))
    assert not controller.polls._pending  # no poll for what nobody sees
    before = session.snapshots
    listener(StatusChanged(1.5, StatusReport(Light.LOSING, "3 s of audio could not be transcribed")))
    qtbot.waitUntil(lambda: session.snapshots > before, timeout=5_000)  # the light's own event: at once
    window.show()
    qtbot.waitExposed(window)
    listener(ServerMetrics(2.0, MetricsEvent(source="system", queue_fill_ratio=0.3)))
    assert controller.polls._pending  # shown: the metrics poll at once, as before


def test_while_hidden_the_polls_feed_only_the_tray_and_what_the_window_keeps_and_showing_catches_up(
        qtbot, controllers):
    """In the tray nothing shows the meters, source panels or export document: the polls leave them
    (and their work) until the window is shown, which catches them up at once. The tray's light and
    tooltip, whether the connection runs (the tray menu's Start/Stop), the chart's history and the
    transcript follow."""
    window, controller, session = started(qtbot, controllers)
    window.hide()
    got: dict[str, list] = {name: [] for name in
                            ("status", "connection", "chart", "transcript", "inputs", "document")}
    controller.status_changed.connect(got["status"].append)
    controller.connection_changed.connect(got["connection"].append)
    controller.chart_sampled.connect(lambda t, values: got["chart"].append(values))
    controller.transcript_changed.connect(got["transcript"].append)
    controller.inputs_changed.connect(got["inputs"].append)
    controller.document_changed.connect(got["document"].append)
    line = TranscriptSegment("mic", "we ship on friday", 1.0, 2.5, True)
    session.snap = SessionSnapshot(state=ConnectionState.STREAMING, session_id="s1", elapsed_seconds=12.0,
                                   status=StatusReport(Light.BEHIND, "The backend is 4 s behind"),
                                   transcript=(line,), transcript_revision=1, input_dbfs={"mic": -20.0})
    controller.polls.poll_slow()  # the 2 Hz poll
    controller.polls.poll_fast()  # the poll a status change triggers
    assert [v.light for v in got["status"]] == [Light.BEHIND]
    assert got["connection"] == []  # still running: the tray menu says Stop already
    assert got["chart"] and got["transcript"] == [(line,)]
    assert got["inputs"] == [] and got["document"] == []  # nothing for what nobody sees
    window.show()
    assert got["inputs"][-1] == (("system", None), ("mic", -20.0))  # caught up on show
    assert got["document"][-1] is not None and got["document"][-1].segments == (line,)
    assert got["connection"][-1].elapsed_seconds == 12.0  # the connection line's clock too
    assert [v.light for v in got["status"]] == [Light.BEHIND]  # no repeat of what the tray had


def test_a_session_started_or_ended_while_hidden_shows_in_the_tray_menus_start_stop(qtbot, controllers):
    window, controller, _ = started(qtbot, controllers, shown=False)
    assert window.start_stop_action.text() == "&Stop"  # the action the tray menu shows
    controller.stop()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=5_000)
    assert window.start_stop_action.text() == "&Start"
