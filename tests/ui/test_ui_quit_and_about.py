"""Quitting while the summary is awaited (the window stays, a dialog offers "Quit now"), Help >
About (log path, settings file, backend, open the log folder), and the exported tray icons."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QUrl
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from app import __version__
from app.core.session_state import ConnectionState, SessionSnapshot
from app.core.settings import Settings
from app.core.status_report import Light
from app.ui.about import AboutDialog
from app.ui.binding import bind
from app.ui.controller import SessionController
from app.ui.level_style import level_pixmap
from app.ui.secrets import TokenStore
from app.ui.settings_store import SettingsStore
from app.ui.shell import DesktopShell
from app.ui.shutdown import ShutdownDialog, finish_session
from app.ui.sources import DeviceLists
from app.ui.tray_icons import DEFAULT_FOLDER, EXPORT_SIZE, export_tray_icons, icon_path
from app.ui.window import MainWindow


class SummaryNeverComes:
    """A session whose backend never sends the final summary. The reference backend always answers
    within its wait, so this one situation is played by a stand-in implementing ``SessionHandle``."""

    def __init__(self) -> None:
        self.state = ConnectionState.STREAMING
        self.cancelled = False

    def snapshot(self) -> SessionSnapshot:
        return SessionSnapshot(state=self.state)

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            self.state = ConnectionState.STOPPED
            raise

    async def stop(self) -> None:
        self.state = ConnectionState.STOPPING
        await asyncio.Event().wait()

    def set_throttling(self, enabled: bool) -> None:
        pass


    def add_tick_listener(self, listener) -> None:

        pass


def test_quit_while_waiting_for_the_summary_shows_a_dialog_and_quit_now_ends_it(qtbot, qloop):
    window = MainWindow()
    qtbot.addWidget(window)
    session = SummaryNeverComes()
    controller = SessionController(lambda listener: session, parent=window)
    bind(window, controller)
    window.show()
    controller.start()
    assert controller.is_running()
    task = asyncio.ensure_future(finish_session(controller, window, show_after_ms=50))
    qtbot.waitUntil(lambda: window.findChild(ShutdownDialog) is not None, timeout=5_000)
    dialog = window.findChild(ShutdownDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    assert "waiting for the summary" in dialog.message.text()
    assert window.isVisible()  # the window stays up while the session finishes
    qtbot.waitUntil(lambda: "waiting for the summary" in window.connection_label.text(), timeout=5_000)
    dialog.quit_button.click()
    qtbot.waitUntil(task.done, timeout=5_000)
    assert task.result() is True  # the user chose to quit now
    assert session.cancelled and not controller.is_running()
    controller.start()  # Start once shutdown began: refused
    assert not controller.is_running()
    assert not any(d.isVisible() for d in window.findChildren(ShutdownDialog))  # gone
    assert window.start_button.text() == "Start"


def test_quit_with_no_session_shows_nothing(qtbot, qloop):
    window = MainWindow()
    qtbot.addWidget(window)
    controller = SessionController(None, parent=window)
    task = asyncio.ensure_future(finish_session(controller, window, show_after_ms=0))
    qtbot.waitUntil(task.done, timeout=5_000)
    assert task.result() is False
    assert not any(d.isVisible() for d in window.findChildren(ShutdownDialog))


def test_about_lists_the_log_file_settings_file_and_backend(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    controller = SessionController(None, parent=window)
    bind(window, controller)
    ini = tmp_path / "settings.ini"
    store = SettingsStore(QSettings(str(ini), QSettings.Format.IniFormat))
    store.save(Settings(backend_url="wss://echo.example.com/ws/live-listener"))
    log_path = tmp_path / "log" / "echopanel-companion.log"
    shell = DesktopShell(
        window, controller, store, TokenStore(), DeviceLists, tray_available=False, log_path=log_path
    )
    opened: list[QUrl] = []
    shell.open_url = lambda url: opened.append(url) or True  # no file manager on a test machine
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert "Help" in titles
    window.about_action.trigger()  # Help > About EchoPanel Companion
    about = shell.about_dialog()
    assert isinstance(about, AboutDialog) and about.isVisible()
    text = about.text()
    assert str(log_path) in text
    assert str(ini) in text
    assert "wss://echo.example.com/ws/live-listener" in text
    assert __version__ in about.findChild(QLabel, "aboutTitle").text()
    about.open_log_button.click()
    assert [url.toLocalFile() for url in opened] == [str(log_path.parent)]
    about.reject()
    assert shell.about_dialog() is None


def test_about_without_a_log_file_disables_the_folder_button(qtbot):
    from app.ui.about import AboutInfo

    about = AboutDialog(AboutInfo("9.9", None, "/x.ini", "Built-in backend"), lambda url: True)
    qtbot.addWidget(about)
    assert not about.open_log_button.isEnabled() and "not writable" in about.text()


def _difference(a: QImage, b: QImage) -> float:
    """Mean absolute difference per channel, 0-255."""
    a = a.convertToFormat(QImage.Format.Format_ARGB32)
    b = b.convertToFormat(QImage.Format.Format_ARGB32)
    total = 0
    for y in range(a.height()):
        for x in range(a.width()):
            pa, pb = a.pixel(x, y), b.pixel(x, y)
            total += sum(abs(((pa >> s) & 255) - ((pb >> s) & 255)) for s in (0, 8, 16, 24))
    return total / (a.width() * a.height() * 4)


@pytest.mark.parametrize("level", list(Light))
def test_committed_tray_icons_match_the_code(qapp, level):
    committed = QImage(str(icon_path(DEFAULT_FOLDER, level)))
    assert not committed.isNull(), f"missing: regenerate with python -m app.ui.tray_icons ({level.value})"
    assert (committed.width(), committed.height()) == (EXPORT_SIZE, EXPORT_SIZE)
    drawn = level_pixmap(level, EXPORT_SIZE).toImage()
    # Approximate: antialiasing and the "?" glyph's font may differ a little between machines.
    assert _difference(committed, drawn) < 4.0, "out of date: regenerate with python -m app.ui.tray_icons"


def test_tray_icon_export_writes_distinct_images(qapp, tmp_path: Path):
    paths = export_tray_icons(tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{light.value}.png" for light in Light)
    images = [QImage(str(p)) for p in paths]
    assert all(img.width() == EXPORT_SIZE for img in images)
    for i, a in enumerate(images):
        for b in images[i + 1 :]:
            assert _difference(a, b) > 5.0  # every level looks different (idle vs unknown: ~9)
