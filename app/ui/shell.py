"""The desktop shell: current settings and token, the settings dialog, the tray, window geometry,
About, and the companions it wires: the audio and backend check (``CheckOffer``: opened by itself at
the first start) and the meeting features (``MeetingsUi``: export, history, retention).

Owns the user's choices and where they are kept (``SettingsStore`` for QSettings, ``TokenStore``
for the keyring) and applies changes: adaptive throttling live through the controller, everything
else at the next Start. The session factory reads ``settings()`` / ``token()`` when Start is pressed.

The window's device pickers show the saved choices at once; the device lists arrive through
``show_devices()`` once the window is on screen (``app.ui.startup.load_devices``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QSystemTrayIcon

from app import __version__
from app.core.settings import Settings, SourceSelection
from app.history import History
from app.ui.check_offer import CheckOffer
from app.ui.checks import Checker
from app.ui.controller import SessionController
from app.ui.meetings_ui import MeetingsUi
from app.ui.message_bar import Severity
from app.ui.screen_fit import allow_scrolling, clamp_to_screen
from app.ui.secrets import TokenStore
from app.ui.settings_store import SettingsStore
from app.ui.sources import DeviceLister, DeviceLists
from app.ui.status_view import StatusView
from app.ui.tray import LevelTray, NotificationGate
from app.ui.window import MainWindow

if TYPE_CHECKING:  # the dialogs are imported when first opened: start-up does not wait for them
    from app.ui.about import AboutDialog, UrlOpener
    from app.ui.settings_dialog import SettingsDialog

log = logging.getLogger(__name__)
TRAY_NOTICE_KEY = "tray_notice_shown"
DIAGNOSTICS_KEY = "diagnostics_expanded"  # the diagnostics panel is open (remembered; closed by default)


class DesktopShell(QObject):
    """Emits ``quit_requested`` when the user asks to quit (the composition root shuts down in order)."""

    quit_requested = Signal()
    settings_applied = Signal(object)  # Settings

    def __init__(
        self,
        window: MainWindow,
        controller: SessionController,
        store: SettingsStore,
        tokens: TokenStore,
        devices: DeviceLister,
        tray_available: bool | None = None,
        gate: NotificationGate | None = None,
        log_path: Path | None = None,
        history: History | None = None,
        checker: Checker | None = None,
        history_problem: str = "",
    ) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self._store = store
        self._tokens = tokens
        self._devices = devices
        self._log_path = log_path
        self._dialog: SettingsDialog | None = None
        self._about: AboutDialog | None = None
        self._checker = checker
        self._notice: QMessageBox | None = None
        self._device_lists = DeviceLists()  # until ``show_devices()``: the saved choices only
        self.open_url: UrlOpener = QDesktopServices.openUrl  # how About opens the log folder
        self._settings, problems = store.load()
        if tray_available is None:
            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray = (
            LevelTray(window.tray_actions(), window.bring_to_front, window, gate) if tray_available else None
        )
        log.info("system tray: %s", "available" if self.tray is not None else "not available")
        window.set_hide_on_close(self.tray is not None)
        self._show_settings_in_window()
        controller.set_throttling(self._settings.adaptive_throttling)
        window.set_throttling(self._settings.adaptive_throttling)
        controller.throttling_changed.connect(self._throttling_changed)
        controller.status_changed.connect(self._status_changed)
        window.diagnostics.set_expanded(store.ui_value(DIAGNOSTICS_KEY) == "1")
        window.diagnostics.toggled.connect(
            lambda shown: store.set_ui_value(DIAGNOSTICS_KEY, "1" if shown else "0"))
        window.settings_requested.connect(self.open_settings)
        window.about_requested.connect(self.open_about)
        window.quit_requested.connect(self.quit_requested)
        window.source_picker.changed.connect(self._sources_picked)
        window.hidden_to_tray.connect(self._hidden_to_tray)
        self.checks = CheckOffer(window, store, checker, self.settings, self.token, self.open_settings)
        self.meetings = MeetingsUi(window, controller, store, history, self.open_settings, history_problem)
        self.settings_applied.connect(self.meetings.settings_changed)
        if problems:
            window.show_message("Some saved settings were reset: " + " ".join(problems), Severity.WARNING)

    # ------------------------------------------------------------------ state the session factory reads

    def settings(self) -> Settings:
        return self._settings

    def token(self) -> str:
        return self._tokens.get()

    def backend_label(self) -> str:
        return "Built-in backend" if self._settings.uses_builtin_backend else self._settings.backend_url

    def selected_sources(self) -> frozenset[str]:
        return frozenset(s.value for s in self._settings.sources.sources)

    # ------------------------------------------------------------------ window lifecycle

    def show_initial(self, minimized: bool = False) -> None:
        """Show the window, unless asked to start in the tray (and there is one)."""
        geometry = self._store.load_geometry()
        if geometry is not None:
            self.window.restoreGeometry(geometry)
        allow_scrolling(self.window, self.window.top_area)  # a small screen, or a large scale
        clamp_to_screen(self.window)  # a geometry saved on a larger screen, or at another scale
        if self.tray is not None and (minimized or self._settings.start_minimized_to_tray):
            return  # stays in the tray until the user opens it
        self.window.show()
        QTimer.singleShot(0, lambda: clamp_to_screen(self.window))  # again, with the frame and layout known

    def show_devices(self, lists: DeviceLists) -> None:
        """Offer ``lists`` in the window's device pickers (the current choices stay selected)."""
        self._device_lists = lists
        s = self._settings
        self.window.source_picker.set_devices(lists, s.mic_device, s.system_device)

    def save_geometry(self) -> None:
        self._store.save_geometry(self.window.saveGeometry())

    def hide_tray(self) -> None:
        if self.tray is not None:
            self.tray.hide()

    # ------------------------------------------------------------------ settings

    def open_settings(self, page: str = "") -> None:
        if self._dialog is not None:
            self._dialog.raise_()
            return
        from app.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(
            self._settings,
            self._tokens.get(),
            self._tokens.describe(),
            self.list_devices(),
            session_running=self.controller.is_running(),
            tray_available=self.tray is not None,
            parent=self.window,
            tester=self._checker.test_backend if self._checker is not None else None,
        )
        if page:
            dialog.select_page(page)
        dialog.accepted.connect(lambda: self.apply(dialog.settings(), dialog.token()))
        dialog.finished.connect(self._dialog_closed)
        self._dialog = dialog
        dialog.open()  # window-modal without a nested event loop (qasync)

    def dialog(self) -> SettingsDialog | None:
        return self._dialog

    # ------------------------------------------------------------------ the tray and Help

    def _hidden_to_tray(self) -> None:
        """The first time the window is closed into the tray, say that the app (and the meeting) go on."""
        if self._store.ui_value(TRAY_NOTICE_KEY):
            return
        self._store.set_ui_value(TRAY_NOTICE_KEY, "1")
        going_on = " The meeting goes on being recorded." if self.controller.is_running() else ""
        text = (f"EchoPanel Companion keeps running in the system tray.{going_on} Click its icon to bring "
                "the window back; to quit, use Quit in the tray menu or File > Quit (Ctrl+Q).")
        if self.tray is not None:
            self.tray.icon.showMessage("Still running", text, QSystemTrayIcon.MessageIcon.Information, 8000)
        notice = QMessageBox(QMessageBox.Icon.Information, "Still running in the tray", text)
        notice.setObjectName("trayNotice")
        notice.setModal(False)
        notice.show()
        self._notice = notice

    def open_about(self) -> None:
        """Help > About: version, log and settings locations, the backend in use."""
        if self._about is not None:
            self._about.raise_()
            return
        backend = self.backend_label()
        if self._settings.uses_builtin_backend:
            backend += " (the reference backend, running inside this app)"
        from app.ui.about import AboutDialog, AboutInfo

        info = AboutInfo(__version__, self._log_path, self._store.file_name(), backend)
        about = AboutDialog(info, lambda url: self.open_url(url), parent=self.window)
        about.finished.connect(self._about_closed)
        self._about = about
        about.open()

    def about_dialog(self) -> AboutDialog | None:
        return self._about

    def _about_closed(self) -> None:
        if self._about is not None:
            self._about.deleteLater()
        self._about = None

    def apply(self, settings: Settings, token: str) -> None:
        """Persist and apply: throttling now, the rest at the next Start."""
        before = self._settings
        token_changed = token != self._tokens.get()
        self._set_settings(settings)
        self._tokens.set(token)
        self.controller.set_throttling(settings.adaptive_throttling)
        if self.controller.is_running() and (token_changed or _needs_restart(before, settings)):
            self.window.show_message("Saved. The new backend/source settings apply at the next Start.")
        if not self._tokens.persistent and token:
            self.window.show_message(self._tokens.describe(), Severity.WARNING)

    def _set_settings(self, settings: Settings) -> None:
        self._settings = settings
        self._store.save(settings)
        self._show_settings_in_window()
        self.settings_applied.emit(settings)

    def _dialog_closed(self) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
        self._dialog = None

    def _show_settings_in_window(self) -> None:
        s = self._settings
        picker = self.window.source_picker
        picker.set_choice(s.sources.value)
        picker.set_devices(self._device_lists, s.mic_device, s.system_device)
        self.window.backend_label.setText(f"Backend: {self.backend_label()}")

    def _sources_picked(self) -> None:
        picker = self.window.source_picker
        self._set_settings(
            replace(
                self._settings,
                sources=SourceSelection(picker.current_choice()),
                mic_device=picker.current_mic(),
                system_device=picker.current_system(),
            )
        )

    def _throttling_changed(self, enabled: bool) -> None:
        if enabled != self._settings.adaptive_throttling:
            self._set_settings(replace(self._settings, adaptive_throttling=enabled))

    def _status_changed(self, view: StatusView) -> None:
        if self.tray is not None:
            self.tray.set_status(view, notify=self._settings.notify_on_overload)

    def list_devices(self) -> DeviceLists:
        """The audio devices now, or none (with a log line) when they cannot be listed."""
        try:
            return self._devices()
        except Exception as exc:  # a device query must never break the window; say what happened
            log.warning("could not list audio devices: %s", exc)
            return DeviceLists()


def _needs_restart(before: Settings, after: Settings) -> bool:
    fields = ("backend_url", "sources", "mic_device", "system_device", "audio_encoding")
    return any(getattr(before, f) != getattr(after, f) for f in fields)
