"""The settings dialog, one tab per topic: Backend (built-in or a URL, the token, "Test connection"),
Audio (sources and devices, encoding), History (how long meetings are kept, recording their audio),
Behaviour (throttling, tray, notifications).

It edits values only: ``settings()`` and ``token()`` give the result; the shell persists them
(QSettings / keyring) and applies them. Adaptive throttling applies live; backend, token, sources
and encoding apply at the next Start, and the dialog says so while a session runs. The Backend tab,
which checks the address as it is typed, is ``app.ui.settings_backend.BackendPage``. Every tab
scrolls rather than clip when the screen is small or the scale large, and the dialog is clamped to
the screen.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSize
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.settings import AudioEncoding, Settings, SourceSelection
from app.history.audio import BYTES_PER_HOUR
from app.ui.connection_test import BackendTester, ConnectionTest
from app.ui.screen_fit import clamp_to_screen, fit_vertically
from app.ui.settings_backend import BackendPage, wrapped
from app.ui.sources import DeviceLists, SourcePicker

ENCODINGS = (
    (AudioEncoding.AUTO, "Automatic (binary for this computer, JSON for remote backends)"),
    (AudioEncoding.BINARY, "Binary frames"),
    (AudioEncoding.JSON, "JSON (base64) frames"),
)
KEEP_CHOICES = ((0, "Forever"), (365, "One year"), (90, "90 days"), (30, "30 days"), (7, "7 days"))
NEXT_START_NOTE = "Backend, token, source and encoding changes apply the next time you press Start."
PREFERRED_WIDTH = 660


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        token: str,
        token_note: str,
        devices: DeviceLists,
        session_running: bool = False,
        tray_available: bool = True,
        parent: QWidget | None = None,
        tester: BackendTester | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings — EchoPanel Companion")
        self.setObjectName("settingsDialog")
        self._initial = settings
        self._initial_token = token
        self._running = session_running
        self.connection_test = ConnectionTest(tester, self)
        self.backend = BackendPage(settings, token, token_note, self.connection_test)
        self.backend.test_button.clicked.connect(self.test_connection)
        self.backend.edited.connect(self._revalidate)
        self.tabs = QTabWidget()
        for page, title in ((self.backend, "&Backend"),
                            (self._audio_box(settings, devices), "&Audio"),
                            (self._history_box(settings), "&History"),
                            (self._behaviour_box(settings, tray_available), "Beha&viour")):
            self.tabs.addTab(fit_vertically(page), title)
        self.next_start_label = wrapped(NEXT_START_NOTE)
        self.next_start_label.setVisible(False)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.next_start_label)
        layout.addWidget(self.buttons)
        self.backend.set_tab_order()
        self._revalidate()
        self.setMinimumWidth(420)
        clamp_to_screen(self, self.sizeHint().expandedTo(QSize(PREFERRED_WIDTH, 0)))

    # ------------------------------------------------------------------ construction

    def _audio_box(self, settings: Settings, devices: DeviceLists) -> QWidget:
        box = QWidget()
        self.sources = SourcePicker()
        self.sources.set_choice(settings.sources.value)
        self.sources.set_devices(devices, settings.mic_device, settings.system_device)
        self.encoding = QComboBox()
        self.encoding.setAccessibleName("Audio encoding")
        for value, label in ENCODINGS:
            self.encoding.addItem(label, value.value)
        self.encoding.setCurrentIndex(max(0, self.encoding.findData(settings.audio_encoding.value)))
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Sources:", self.sources)
        form.addRow("Encoding:", self.encoding)
        self.sources.changed.connect(self._revalidate)
        self.encoding.currentIndexChanged.connect(self._revalidate)
        return box

    def _history_box(self, settings: Settings) -> QWidget:
        box = QWidget()
        self.keep_combo = QComboBox()
        self.keep_combo.setAccessibleName("Keep meetings")
        for days, label in KEEP_CHOICES:
            self.keep_combo.addItem(label, days)
        if self.keep_combo.findData(settings.history_keep_days) < 0:
            self.keep_combo.addItem(f"{settings.history_keep_days} days", settings.history_keep_days)
        self.keep_combo.setCurrentIndex(self.keep_combo.findData(settings.history_keep_days))
        mb = BYTES_PER_HOUR / 1e6
        self.audio_check = QCheckBox("Also keep each meeting's audio, to listen to it or transcribe it again")
        self.audio_check.setChecked(settings.record_audio)
        audio_note = wrapped(f"About {mb:.0f} MB per hour for each source (microphone, system audio), saved "
                              "with the meeting and deleted with it. Off by default.")
        keep_note = wrapped("Every meeting is saved as it happens, so nothing is lost when you start a new "
                             "one, quit or the computer stops. Older meetings are deleted when the app "
                             "starts.")
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow("Keep meetings:", self.keep_combo)
        form.addRow(keep_note)
        form.addRow(self.audio_check)
        form.addRow(audio_note)
        return box

    def _behaviour_box(self, settings: Settings, tray_available: bool) -> QWidget:
        box = QWidget()
        self.throttle_check = QCheckBox("Adaptive throttling (applies immediately)")
        self.throttle_check.setChecked(settings.adaptive_throttling)
        self.minimized_check = QCheckBox("Start minimised to the tray")
        self.minimized_check.setChecked(settings.start_minimized_to_tray and tray_available)
        self.minimized_check.setEnabled(tray_available)
        if not tray_available:
            self.minimized_check.setToolTip("No system tray is available on this desktop.")
        self.notify_check = QCheckBox(
            "Notify when audio is being lost or a session fails (at most every 2 minutes)")
        self.notify_check.setChecked(settings.notify_on_overload)
        layout = QVBoxLayout(box)
        for check in (self.throttle_check, self.minimized_check, self.notify_check):
            layout.addWidget(check)
        layout.addStretch(1)
        return box

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.backend.focus_choice()  # the first decision, not the token field

    # ------------------------------------------------------------------ result

    def settings(self) -> Settings:
        """The edited settings. Only valid when the OK button is enabled (the URL parsed)."""
        url = self.backend.url()
        return replace(
            self._initial,
            backend_url=url,
            insecure_token_url=self.backend.insecure_url(url),
            sources=SourceSelection(self.sources.current_choice()),
            mic_device=self.sources.current_mic(),
            system_device=self.sources.current_system(),
            audio_encoding=AudioEncoding(self.encoding.currentData()),
            adaptive_throttling=self.throttle_check.isChecked(),
            start_minimized_to_tray=self.minimized_check.isChecked(),
            notify_on_overload=self.notify_check.isChecked(),
            history_keep_days=int(self.keep_combo.currentData()),
            record_audio=self.audio_check.isChecked(),
        )

    def token(self) -> str:
        return self.backend.token()

    def url_problem(self) -> str:
        return self.backend.problem()

    # ------------------------------------------------------------------ test connection

    def test_connection(self) -> None:
        """Check the backend as entered (not yet saved): /health, token, streaming handshake."""
        if not self.url_problem():
            self.connection_test.run(self.backend.url(), self.token())

    def done(self, result: int) -> None:
        self.connection_test.cancel()
        super().done(result)

    # ------------------------------------------------------------------ validation

    def _revalidate(self) -> None:
        problem = self.backend.revalidate()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)
        self.connection_test.reset(allowed=not problem)
        if not problem:
            self.next_start_label.setVisible(self._running and self._needs_restart())

    def _needs_restart(self) -> bool:
        before, after = self._initial, self.settings()
        fields = ("backend_url", "insecure_token_url", "sources", "mic_device", "system_device",
                  "audio_encoding")
        changed = any(getattr(before, f) != getattr(after, f) for f in fields)
        return changed or self.token() != self._initial_token

    def select_page(self, name: str) -> None:
        """Show the tab whose title is ``name`` ("History", ...)."""
        for index in range(self.tabs.count()):
            if self.tabs.tabText(index).replace("&", "") == name:
                self.tabs.setCurrentIndex(index)
