"""The Qt side of ``python -m app.bench ui`` (app/bench/ui.py), kept here because app/ui is the only
package that imports Qt: a QApplication + qasync loop, and one instrumented Start..Stop of the
real window, controller and session.

Lamp latency = for each light change caused by a message from the session (a server status/metrics
message, or the session's ``StatusChanged``), the time from the controller receiving the first such
message since its previous poll (``app.ui.polls.SnapshotPolls.received_at``) to the end of the lamp's
next paint.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from app.capture.source import AudioSource
from app.core.settings import Settings
from app.ui.models import ConnectionView
from app.ui.status_view import StatusView

T = TypeVar("T")


@dataclass(slots=True)
class WindowRun:
    latencies: list[float] = field(default_factory=list)  # seconds, receive -> lamp painted
    levels: list[str] = field(default_factory=list)  # distinct consecutive lights shown
    received: int = 0  # server status/metrics messages the controller saw
    wall_seconds: float = 0.0
    stop_seconds: float = 0.0
    stopped_cleanly: bool = False
    final_state: str = ""


def run_on_qt_loop(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main()`` on a qasync loop over a QApplication (offscreen when there is no display)."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_API", "pyside6")
    import qasync
    from PySide6.QtWidgets import QApplication

    from app.ui import qt_messages

    qt_messages.install()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        result: T = loop.run_until_complete(main())
    return result


def qt_platform() -> str:
    return os.environ.get("QT_QPA_PLATFORM") or "default"


async def run_window_session(
    backend_url: str,
    sources: Callable[[Settings], Sequence[AudioSource]],
    seconds: float,
    stop_wait: float = 60.0,
    builtin_args: Sequence[str] = (),
) -> WindowRun:
    """Show the real window, press Start, stream ``seconds``, press Stop and wait for the end.
    ``backend_url`` "" is the default configuration: the built-in backend (its own child process,
    started with ``builtin_args``), stopped at the end as the app stops it."""
    from app.ui.binding import bind
    from app.ui.builtin import BuiltinBackend
    from app.ui.controller import SessionController
    from app.ui.session_adapter import session_factory
    from app.ui.visibility import VisibilityWatch
    from app.ui.window import MainWindow

    settings = Settings(backend_url=backend_url)
    builtin = BuiltinBackend(extra_args=builtin_args)
    factory = session_factory(lambda: settings, lambda: "", builtin, sources)
    window = MainWindow()
    controller = SessionController(factory, backend_label=lambda: backend_url, parent=window)
    bind(window, controller)
    VisibilityWatch(window, controller.polls.set_window_shown)  # as app.main wires it
    window.resize(1100, 760)
    window.show()
    gc.freeze()  # as app.main does once the window is up
    run = WindowRun()
    awaiting: float | None = None
    views: list[ConnectionView] = []

    def on_receive(_t: float, _event: object) -> None:
        run.received += 1

    def on_status(view: StatusView) -> None:
        nonlocal awaiting
        if run.levels and run.levels[-1] == view.light.value:
            return  # only the words changed: the lamp does not repaint for them
        run.levels.append(view.light.value)
        cause = controller.polls.received_at
        if cause is not None and awaiting is None:
            awaiting = cause  # this change came from a server message: time it to the paint

    def on_paint(painted_at: float) -> None:
        nonlocal awaiting
        if awaiting is not None:
            run.latencies.append(painted_at - awaiting)
            awaiting = None

    controller.polls.receive_probe = on_receive
    controller.status_changed.connect(on_status)
    controller.connection_changed.connect(views.append)
    window.lamp.set_paint_probe(on_paint)
    began = time.monotonic()
    controller.start()
    while time.monotonic() - began < seconds:  # short sleeps: a long Qt timer may fire early
        await asyncio.sleep(0.1)
    stop_began = time.monotonic()
    controller.stop()
    while controller.is_running() and time.monotonic() < stop_began + stop_wait:
        await asyncio.sleep(0.05)
    run.wall_seconds, run.stop_seconds = time.monotonic() - began, time.monotonic() - stop_began
    run.stopped_cleanly = not controller.is_running()
    run.final_state = f"{views[-1].state}: {views[-1].detail}".rstrip(": ") if views else ""
    await controller.shutdown(timeout=5.0)
    await asyncio.get_running_loop().run_in_executor(None, builtin.stop)
    window.hide()
    window.deleteLater()
    return run


def history_tab_fill_seconds(rows: Sequence[Any]) -> float:
    """``python -m app.bench history``: seconds to fill the History tab with ``rows`` (``MeetingRow``s)
    and lay it out, offscreen when there is no display."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.ui.history_view import HistoryPane

    app = QApplication.instance() or QApplication(sys.argv[:1])
    pane = HistoryPane()
    started = time.perf_counter()
    pane.set_rows(rows, "")
    app.processEvents()
    elapsed = time.perf_counter() - started
    if len(pane.texts()) != len(rows):
        raise RuntimeError("the History tab did not show every row")
    return elapsed


def write_user_settings(config_home: Path, settings: Settings) -> None:
    """``python -m app.bench app``: the settings file the app finds under ``config_home`` (the
    ``XDG_CONFIG_HOME`` it is started with), as the Settings dialog would have saved it."""
    from PySide6.QtCore import QSettings

    from app.core.settings import settings_to_dict
    from app.ui.settings_store import APPLICATION, ORGANIZATION

    path = config_home / ORGANIZATION / f"{APPLICATION}.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    qsettings = QSettings(str(path), QSettings.Format.IniFormat)
    for key, value in settings_to_dict(settings).items():
        qsettings.setValue(key, value)
    qsettings.sync()
