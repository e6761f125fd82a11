"""While the window is in the tray or minimized, nothing polls at 30 Hz for meters nobody sees; the
lamp (and so the tray icon) still follows the session, and showing the window catches up at once."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt

from app.core.level import Level, LevelReport
from app.core.session_state import ConnectionState, SessionSnapshot
from app.ui.binding import bind
from app.ui.controller import SessionController
from app.ui.visibility import VisibilityWatch
from app.ui.window import MainWindow


class StreamingSession:
    """A ``SessionHandle`` stand-in whose snapshot the test sets: only the controller is under test."""

    def __init__(self) -> None:
        self.snap = SessionSnapshot(state=ConnectionState.STREAMING)
        self.snapshots = 0

    def snapshot(self) -> SessionSnapshot:
        self.snapshots += 1
        return self.snap

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def stop(self) -> None:
        pass

    def set_throttling(self, enabled: bool) -> None:
        pass


def started(qtbot) -> tuple[MainWindow, SessionController, StreamingSession]:
    window = MainWindow()
    qtbot.addWidget(window)
    session = StreamingSession()
    controller = SessionController(lambda listener: session, parent=window)
    bind(window, controller)
    VisibilityWatch(window, controller.set_window_shown)
    window.show()
    qtbot.waitExposed(window)
    controller.start()
    return window, controller, session


def test_hiding_or_minimizing_the_window_stops_the_fast_poll_and_showing_it_resumes(qtbot, qloop):
    window, controller, session = started(qtbot)
    assert controller.window_shown and controller.fast_polling
    window.hide()  # closed to the tray
    assert not controller.window_shown and not controller.fast_polling
    window.show()
    assert controller.window_shown and controller.fast_polling
    window.setWindowState(Qt.WindowState.WindowMinimized)
    assert not controller.window_shown and not controller.fast_polling
    before = session.snapshots
    window.setWindowState(Qt.WindowState.WindowNoState)
    window.show()
    assert controller.window_shown and controller.fast_polling
    assert session.snapshots > before  # caught up at once, not at the next tick


def test_a_hidden_window_still_follows_the_level_for_the_tray(qtbot, qloop):
    window, controller, session = started(qtbot)
    levels: list[Level] = []
    controller.level_changed.connect(lambda level, reason: levels.append(level))
    window.hide()
    session.snap = SessionSnapshot(state=ConnectionState.STREAMING,
                                   level=LevelReport(Level.OVERLOADED, "system audio queue 97 % full"))
    controller.poll_slow()  # the 2 Hz poll, which keeps running
    assert levels == [Level.OVERLOADED]


def test_a_session_started_while_hidden_polls_fast_only_once_shown(qtbot, qloop):
    window = MainWindow()
    qtbot.addWidget(window)
    session = StreamingSession()
    controller = SessionController(lambda listener: session, parent=window)
    VisibilityWatch(window, controller.set_window_shown)  # never shown: the app started in the tray
    controller.start()
    assert controller.is_running() and not controller.fast_polling
    window.show()
    assert controller.fast_polling
