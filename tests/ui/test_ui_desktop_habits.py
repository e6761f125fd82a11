"""The desktop habits people expect: messages never move controls, the File menu exports and copies,
the first close into the tray says so once, a second launch raises the first, the first-run check
says what to do, "Open log folder" falls back to the path, the settings refuse typos inline and
test the connection, and windows fit the screen."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from app.core.session_state import ConnectionState, SessionSnapshot, TranscriptSegment
from app.session.preflight import CheckResult, CheckState
from app.ui.about import AboutDialog, AboutInfo
from app.ui.binding import bind
from app.ui.check_dialog import CheckDialog
from app.ui.controller import SessionController
from app.ui.exporting import LAST_FOLDER
from app.ui.screen_fit import fits_screen
from app.ui.secrets import TokenStore
from app.ui.settings_dialog import SettingsDialog
from app.ui.settings_store import SettingsStore
from app.ui.shell import DesktopShell
from app.ui.single_instance import SingleInstance
from app.ui.sources import DeviceLists
from app.ui.window import MainWindow

SNAP = SessionSnapshot(
    state=ConnectionState.STOPPED, session_id="abc12345-x", elapsed_seconds=65.0,
    transcript=(TranscriptSegment("mic", "hello there", 1.0, 2.0, True),
                TranscriptSegment("system", "general kenobi", 2.5, 4.0, True)),
    transcript_revision=2)


class FakeChecker:
    def __init__(self) -> None:
        self.tested: list[tuple[str, str]] = []

    def checks(self, settings, token):
        async def ok() -> CheckResult:
            return CheckResult(CheckState.OK, "Working: default microphone (-20 dBFS peak).")

        async def failed() -> CheckResult:
            return CheckResult(CheckState.FAILED, "No loopback device found.", "Install BlackHole.")

        return [("Microphone", ok), ("System audio", failed)]

    async def test_backend(self, url: str, token: str) -> CheckResult:
        self.tested.append((url, token))
        if "9" in url:
            return CheckResult(CheckState.FAILED, "Cannot reach the backend at http://127.0.0.1:9.",
                               "Check the address.")
        return CheckResult(CheckState.OK, "Connected: token accepted, streaming handshake answered.")


@pytest.fixture
def desktop(qtbot, qloop, tmp_path):
    def build(tray: bool = False):
        window = MainWindow()
        qtbot.addWidget(window)
        controller = SessionController(None, parent=window)
        bind(window, controller)
        store = SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        shell = DesktopShell(window, controller, store, TokenStore(), DeviceLists, tray_available=tray,
                             checker=FakeChecker())
        return window, controller, shell, store

    return build


def test_messages_never_move_controls(desktop, qtbot):
    window, *_ = desktop()
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)

    def places():
        return [w.mapTo(window, w.rect().topLeft()) for w in (window.start_button, window.tabs, window.lamp)]

    before = places()
    window.show_message("A long error. " * 40)  # wraps beyond the two lines the area shows
    qtbot.wait(50)
    assert places() == before and window.message_bar.toolTip().startswith("A long error.")
    window.message_bar.dismiss()
    qtbot.wait(50)
    assert places() == before


def test_file_menu_exports_the_current_meeting_and_copies_the_transcript(desktop, qtbot, tmp_path):
    window, controller, shell, store = desktop()
    controller.meeting_started = datetime(2026, 12, 3, 14, 5).astimezone()
    controller.apply_snapshot(SNAP)
    asked = []
    exporter = shell.meetings.exporter
    exporter.chooser = lambda parent, default, filters: (asked.append((default, filters)) or
                                                        (str(tmp_path / "notes"), filters.split(";;")[0]))
    assert window.export_action.shortcut().toString() == "Ctrl+S"
    window.export_action.trigger()
    qtbot.waitUntil(lambda: (tmp_path / "notes.md").exists(), timeout=5_000)
    default, filters = asked[0]
    assert Path(default).name == "echopanel-2026-12-03-1405.md"  # dated
    assert filters.split(";;") == ["Markdown (*.md)", "JSON (*.json)", "SubRip subtitles (*.srt)"]
    text = (tmp_path / "notes.md").read_text()
    assert "- **Date:** Thursday 3 December 2026, 14:05" in text and "hello there" in text
    assert store.ui_value(LAST_FOLDER) == str(tmp_path)
    window.copy_action.trigger()
    assert QGuiApplication.clipboard().text() == "[00:01] Mic: hello there\n[00:02] System: general kenobi"


def test_an_export_that_cannot_be_written_says_so_and_keeps_the_old_file(desktop, qtbot, tmp_path,
                                                                        monkeypatch):
    import errno

    import app.fileio

    window, controller, shell, _ = desktop()
    controller.apply_snapshot(SNAP)
    target = tmp_path / "exports" / "notes.md"
    target.parent.mkdir()
    target.write_text("previous export")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(app.fileio.os, "fsync", disk_full)
    shell.meetings.exporter.chooser = lambda parent, default, filters: (str(target), "Markdown (*.md)")
    window.export_action.trigger()
    qtbot.waitUntil(lambda: "Could not write" in window.message_bar.current_text(), timeout=5_000)
    assert "No space left on device" in window.message_bar.current_text()
    assert target.read_text() == "previous export"  # atomic: the old file is intact
    assert [p.name for p in target.parent.iterdir()] == ["notes.md"]  # and no temporary file is left


def test_the_default_export_folder_is_documents(desktop, monkeypatch, tmp_path):
    _, _, shell, _ = desktop()
    documents = tmp_path / "Documents"
    documents.mkdir()
    from PySide6.QtCore import QStandardPaths

    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda location: str(documents))
    assert shell.meetings.exporter.default_folder() == documents


def test_the_first_close_into_the_tray_explains_once(desktop, qtbot):
    window, _, shell, store = desktop(tray=True)
    window.show()
    window.close()
    assert not window.isVisible()
    notice = shell._notice
    assert notice is not None and notice.isVisible() and "keeps running in the system tray" in notice.text()
    notice.close()
    window.show()
    window.close()
    assert not shell._notice.isVisible()  # once only (remembered in the settings)
    assert store.ui_value("tray_notice_shown") == "1"


def test_a_second_launch_hands_over_to_the_first(qloop, qtbot, tmp_path):
    first, second = SingleInstance(tmp_path), SingleInstance(tmp_path)
    assert first.acquire()
    assert not second.acquire()
    commands: list[str] = []
    serving = asyncio.ensure_future(first.serve(commands.append))
    qtbot.waitUntil(serving.done, timeout=5_000)
    answered = asyncio.ensure_future(asyncio.to_thread(second.notify, "start"))
    qtbot.waitUntil(answered.done, timeout=10_000)
    assert answered.result() is True and commands == ["start"]
    first.release()
    assert second.acquire()  # the first one quit: the next launch is the instance now
    second.release()


def test_the_first_run_check_opens_once_and_says_what_to_do(desktop, qtbot):
    window, _, shell, _ = desktop()
    assert shell.checks.first_run()
    dialog = shell.checks.check_dialog()
    assert isinstance(dialog, CheckDialog)
    qtbot.waitUntil(lambda: not dialog.running, timeout=5_000)
    (mic_state, mic_detail, mic_fix), (sys_state, _, sys_fix) = dialog.texts()
    assert mic_state == "OK" and "Working" in mic_detail and mic_fix == ""
    assert sys_state == "Problem" and sys_fix == "What to do: Install BlackHole."
    assert fits_screen(dialog)
    dialog.reject()
    qtbot.waitUntil(lambda: shell.checks.check_dialog() is None, timeout=2_000)
    assert not shell.checks.first_run()  # not again at the next start
    window.check_action.trigger()  # but always from Help
    assert shell.checks.check_dialog() is not None


def test_open_log_folder_falls_back_to_showing_the_path(qtbot, tmp_path):
    about = AboutDialog(AboutInfo("1.0", tmp_path / "log" / "app.log", "settings.ini", "Built-in"),
                        open_url=lambda url: False)  # no file manager on this desktop
    qtbot.addWidget(about)
    assert about.open_log_folder() is False
    assert about.fallback_label.isVisibleTo(about)
    assert str(tmp_path / "log") in about.fallback_label.text()
    opened: list[QUrl] = []
    info = AboutInfo("1.0", tmp_path / "app.log", "s", "b")
    about2 = AboutDialog(info, lambda url: opened.append(url) or True)
    qtbot.addWidget(about2)
    assert about2.open_log_folder() and not about2.fallback_label.isVisibleTo(about2)


@pytest.mark.parametrize(("typed", "reason"), [
    ("http//127.0.0.1:8931", "did you mean “http://127.0.0.1:8931”"),
    ("127.0.0.300", "not a valid IPv4 address"),
])
def test_settings_refuse_a_typo_with_the_reason_inline_and_unclipped(qtbot, typed, reason):
    from app.core.settings import Settings

    dialog = SettingsDialog(Settings(backend_url="ws://127.0.0.1:8000/ws/live-listener"), "", "The token "
                            "is kept for this run only: no keyring was found on this computer. " * 2,
                            DeviceLists(), tester=FakeChecker().test_backend)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.focusWidget() is dialog.backend.remote_radio  # the backend choice first, not the token
    dialog.backend.url_edit.setText(typed)
    qtbot.wait(20)
    assert reason in dialog.url_problem()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
    assert not dialog.backend.test_button.isEnabled()
    for label in (dialog.backend.url_error, dialog.backend.token_note):  # every line of the text is shown
        assert label.isVisible() and label.height() >= label.heightForWidth(label.width())
    assert fits_screen(dialog)


def test_test_connection_reports_success_and_failure(qtbot, qloop):
    from app.core.settings import Settings

    checker = FakeChecker()
    dialog = SettingsDialog(Settings(), "tok", "", DeviceLists(), tester=checker.test_backend)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.focusWidget() is dialog.backend.builtin_radio
    dialog.backend.test_button.click()
    qtbot.waitUntil(lambda: dialog.backend.test_result.text().startswith("✔"), timeout=5_000)
    assert checker.tested == [("", "tok")]  # the built-in backend, with the token as typed
    dialog.backend.remote_radio.setChecked(True)
    dialog.backend.url_edit.setText("127.0.0.1:9")
    dialog.backend.test_button.click()
    qtbot.waitUntil(lambda: dialog.backend.test_result.text().startswith("✖"), timeout=5_000)
    result = dialog.backend.test_result.text()
    assert "Cannot reach" in result and "What to do: Check the address." in result


def test_at_800_by_600_the_transcript_keeps_room(desktop, qtbot):
    window, *_ = desktop()
    window.resize(800, 600)
    window.show()
    qtbot.waitExposed(window)
    lines = window.transcript.view.viewport().height() // window.transcript.view.fontMetrics().lineSpacing()
    assert lines >= 8, lines


def test_on_a_screen_too_small_the_status_area_scrolls_instead_of_overflowing(desktop, monkeypatch):
    from PySide6.QtCore import QRect

    import app.ui.screen_fit as screen_fit

    window, *_ = desktop()
    roomy = window.minimumSizeHint().height()
    screen_fit.allow_scrolling(window, window.top_area)
    assert window.minimumSizeHint().height() == roomy  # a screen with room: nothing scrolls
    # 40 px short (the status area is compact since issue 14: a screen 100 px short would leave it
    # less than the scroll floor of 120 px)
    monkeypatch.setattr(screen_fit, "available", lambda widget: QRect(0, 0, 960, roomy - 40))
    screen_fit.allow_scrolling(window, window.top_area)
    assert window.minimumSizeHint().height() <= roomy - 40 - screen_fit.TITLE_BAR_GUESS
    lines = window.tabs.minimumHeight() // window.fontMetrics().lineSpacing()
    assert lines >= 8  # the transcript keeps its eight lines; the status area above scrolls


def test_delete_asks_first(qtbot, qloop, tmp_path, monkeypatch):
    """The real confirmation: "No" keeps the meeting."""
    from app.history import History, MeetingInfo
    from app.ui.exporting import Exporter
    from app.ui.history_presenter import HistoryPresenter
    from app.ui.history_view import HistoryPane

    history = History.open(tmp_path / "data")
    try:
        history.begin(MeetingInfo(1_790_000_000.0)).finish(None, None)
        history.flush()
        pane = HistoryPane()
        qtbot.addWidget(pane)
        presenter = HistoryPresenter(history, pane, Exporter(SettingsStore(QSettings()), pane), pane)
        asked = []
        monkeypatch.setattr(QMessageBox, "question",
                            lambda *a: asked.append(a[2]) or QMessageBox.StandardButton.No)
        task = asyncio.ensure_future(presenter.delete([1]))
        qtbot.waitUntil(task.done, timeout=5_000)
        assert task.result() == 0 and "cannot be undone" in asked[0]
        assert history.reader.count() == 1
    finally:
        history.close()


def test_a_history_that_cannot_open_is_said_not_hidden(qtbot, tmp_path):
    window = MainWindow()
    qtbot.addWidget(window)
    controller = SessionController(None, parent=window)
    store = SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    problem = "The meeting history is not available, so meetings are not kept: disk I/O error."
    DesktopShell(window, controller, store, TokenStore(), DeviceLists, tray_available=False,
                 history_problem=problem)
    assert window.message_bar.current_text() == f"Warning: {problem}"
    assert not window.history.isEnabled() and window.history.retention_label.text() == problem
