"""The main window's actions and menu bar: File (export, copy transcript, quit), Session (start/stop,
throttling, settings), Help (the audio and backend check, About). Each action emits one of the
window's intent signals; shortcuts work from any window of the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

if TYPE_CHECKING:
    from app.ui.window import MainWindow

APP_TITLE = "EchoPanel Companion"


def _action(window: MainWindow, text: str, shortcut: str = "", tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    return action


def make_actions(window: MainWindow) -> None:
    w = window
    w.start_stop_action = _action(w, "&Start", "Ctrl+Return")
    w.start_stop_action.triggered.connect(w.start_stop_requested)
    w.settings_action = _action(w, "S&ettings…", "Ctrl+,")
    w.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
    w.settings_action.triggered.connect(w.settings_requested)
    w.quit_action = _action(w, "&Quit", "Ctrl+Q", "Stop the meeting (it is saved), then quit")
    w.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
    w.quit_action.triggered.connect(w.quit_requested)
    w.throttle_action = _action(w, "Adaptive &throttling")
    w.throttle_action.setCheckable(True)
    w.throttle_action.toggled.connect(w.throttling_toggled)
    w.show_action = _action(w, "Show &window")
    w.show_action.triggered.connect(w.bring_to_front)
    w.about_action = _action(w, f"&About {APP_TITLE}")
    w.about_action.setMenuRole(QAction.MenuRole.AboutRole)
    w.about_action.triggered.connect(w.about_requested)
    w.export_action = _action(w, "&Export meeting…", "Ctrl+S",
                              "Save the current meeting as Markdown, JSON or SRT subtitles")
    w.export_action.triggered.connect(lambda: w.export_requested.emit("md"))
    w.copy_action = _action(w, "&Copy transcript", "Ctrl+Shift+C", "Copy the meeting's transcript as text")
    w.copy_action.triggered.connect(w.copy_transcript_requested)
    w.history_action = _action(w, "Meeting &history", "Ctrl+H", "Every meeting, searchable")
    w.history_action.triggered.connect(lambda: w.tabs.setCurrentWidget(w.history))
    w.check_action = _action(w, "&Check audio and backend…", "", "Test the microphone, system audio and the "
                             "backend, with what to do for each problem")
    w.check_action.triggered.connect(w.check_requested)
    app_wide = (w.start_stop_action, w.settings_action, w.quit_action, w.export_action, w.copy_action,
                w.history_action)
    for action in app_wide:
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        w.addAction(action)


def make_menus(window: MainWindow) -> None:
    w = window
    file_menu = w.menuBar().addMenu("&File")
    file_menu.addAction(w.export_action)
    file_menu.addAction(w.copy_action)
    file_menu.addSeparator()
    file_menu.addAction(w.history_action)
    file_menu.addSeparator()
    file_menu.addAction(w.quit_action)
    session = w.menuBar().addMenu("&Session")
    session.addAction(w.start_stop_action)
    session.addAction(w.throttle_action)
    session.addSeparator()
    session.addAction(w.settings_action)
    help_menu = w.menuBar().addMenu("&Help")
    help_menu.addAction(w.check_action)
    help_menu.addSeparator()
    help_menu.addAction(w.about_action)
