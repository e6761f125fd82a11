"""The settings dialog, one tab per topic: Backend (built-in or a URL, the token, "Test connection"),
Audio (sources and devices, encoding), History (how long meetings are kept, recording their audio),
Behaviour (throttling, tray, notifications).

It edits values only: ``settings()`` and ``token()`` give the result; the shell persists them
(QSettings / keyring) and applies them. Adaptive throttling applies live; backend, token, sources
and encoding apply at the next Start, and the dialog says so while a session runs. A mistyped address
is refused with the reason right under it (``app.core.address``). Every tab scrolls rather than
clip when the screen is small or the scale large, and the dialog is clamped to the screen.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.address import address_problem
from app.core.endpoint import parse_endpoint
from app.core.settings import AudioEncoding, Settings, SourceSelection
from app.core.settings_values import parse_url
from app.errors import ConfigError
from app.history.audio import BYTES_PER_HOUR
from app.ui.connection_test import BackendTester, ConnectionTest
from app.ui.screen_fit import clamp_to_screen, fit_vertically
from app.ui.sources import DeviceLists, SourcePicker

ENCODINGS = (
    (AudioEncoding.AUTO, "Automatic (binary for this computer, JSON for remote backends)"),
    (AudioEncoding.BINARY, "Binary frames"),
    (AudioEncoding.JSON, "JSON (base64) frames"),
)
INSECURE_LABEL = "Send the token unencrypted to this backend (not recommended)"
INSECURE_TIP = ("This address is another computer reached without TLS (ws://): anyone on the network path "
                "can read the token. The app refuses to send it there unless this is ticked. Prefer wss://.")
KEEP_CHOICES = ((0, "Forever"), (365, "One year"), (90, "90 days"), (30, "30 days"), (7, "7 days"))
NEXT_START_NOTE = "Backend, token, source and encoding changes apply the next time you press Start."
PREFERRED_WIDTH = 660


def _wrapped(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


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
        self.tabs = QTabWidget()
        for page, title in ((self._backend_box(settings, token, token_note), "&Backend"),
                            (self._audio_box(settings, devices), "&Audio"),
                            (self._history_box(settings), "&History"),
                            (self._behaviour_box(settings, tray_available), "Beha&viour")):
            self.tabs.addTab(fit_vertically(page), title)
        self.next_start_label = _wrapped(NEXT_START_NOTE)
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
        self._set_tab_order()
        self._revalidate()
        self.setMinimumWidth(420)
        clamp_to_screen(self, self.sizeHint().expandedTo(QSize(PREFERRED_WIDTH, 0)))

    # ------------------------------------------------------------------ construction

    def _backend_box(self, settings: Settings, token: str, token_note: str) -> QWidget:
        box = QWidget()
        self.builtin_radio = QRadioButton("Built-in backend (runs on this computer)")
        self.remote_radio = QRadioButton("EchoPanel backend at:")
        group = QButtonGroup(box)
        group.addButton(self.builtin_radio)
        group.addButton(self.remote_radio)
        self.url_edit = QLineEdit(settings.backend_url)
        self.url_edit.setPlaceholderText("127.0.0.1:8000 or wss://echopanel.example.com")
        self.url_edit.setAccessibleName("Backend URL")
        self.url_error = _wrapped()
        self.url_error.setObjectName("urlError")
        error = QPalette(self.url_error.palette())  # readable red on light and dark themes alike
        dark = error.color(QPalette.ColorRole.Window).lightness() < 128
        error.setColor(QPalette.ColorRole.WindowText, QColor("#ff8a80" if dark else "#b3261e"))
        self.url_error.setPalette(error)
        self.url_error.setVisible(False)
        self.token_edit = QLineEdit(token)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setAccessibleName("Access token")
        self.token_edit.setPlaceholderText("empty for an open backend")
        self.token_note = _wrapped(token_note)
        self.insecure_check = QCheckBox(INSECURE_LABEL)
        self.insecure_check.setToolTip(INSECURE_TIP)
        self.insecure_check.setChecked(bool(settings.backend_url)
                                       and settings.insecure_token_url == settings.backend_url)
        self.test_button = self.connection_test.button
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = self.connection_test.result
        (self.builtin_radio if settings.uses_builtin_backend else self.remote_radio).setChecked(True)
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow(self.builtin_radio)
        form.addRow(self.remote_radio, self.url_edit)
        form.addRow(self.url_error)
        form.addRow("Access token:", self.token_edit)
        form.addRow(self.token_note)
        form.addRow(self.insecure_check)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)
        form.addRow(test_row)
        form.addRow(self.test_result)
        for signal in (self.builtin_radio.toggled, self.url_edit.textChanged, self.token_edit.textChanged):
            signal.connect(self._revalidate)
        return box

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
        audio_note = _wrapped(f"About {mb:.0f} MB per hour for each source (microphone, system audio), saved "
                              "with the meeting and deleted with it. Off by default.")
        keep_note = _wrapped("Every meeting is saved as it happens, so nothing is lost when you start a new "
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

    def _set_tab_order(self) -> None:
        chain = (self.builtin_radio, self.remote_radio, self.url_edit, self.token_edit, self.test_button)
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Focus starts on the backend choice, the first decision, not in the token field.
        (self.builtin_radio if self.builtin_radio.isChecked() else self.remote_radio).setFocus()

    # ------------------------------------------------------------------ result

    def settings(self) -> Settings:
        """The edited settings. Only valid when the OK button is enabled (the URL parsed)."""
        url = "" if self.builtin_radio.isChecked() else self._normalised_url()
        insecure = url if self.insecure_check.isEnabled() and self.insecure_check.isChecked() else ""
        return replace(
            self._initial,
            backend_url=url,
            insecure_token_url=insecure,
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
        return self.token_edit.text().strip()

    def url_problem(self) -> str:
        return self.url_error.text().removeprefix("✖ ") if not self.url_error.isHidden() else ""

    # ------------------------------------------------------------------ test connection

    def test_connection(self) -> None:
        """Check the backend as entered (not yet saved): /health, token, streaming handshake."""
        if not self.url_problem():
            url = "" if self.builtin_radio.isChecked() else self._normalised_url()
            self.connection_test.run(url, self.token())

    def done(self, result: int) -> None:
        self.connection_test.cancel()
        super().done(result)

    # ------------------------------------------------------------------ validation

    def _normalised_url(self) -> str:
        """What the user typed, as a URL the settings accept ("host:port" gets the scheme policy's scheme)."""
        return parse_url(parse_endpoint(self.url_edit.text()).ws_url)

    def _revalidate(self) -> None:
        self.url_edit.setEnabled(self.remote_radio.isChecked())
        problem, clear_text = "", False
        if self.remote_radio.isChecked():
            problem = address_problem(self.url_edit.text())
            try:
                if not problem:
                    endpoint = parse_endpoint(self._normalised_url())
                    clear_text = not endpoint.secure and not endpoint.is_loopback
            except ConfigError as exc:
                problem = str(exc)
            except ValueError as exc:
                problem = f"The backend address {exc}."
        self.insecure_check.setEnabled(clear_text)  # only a ws:// URL to another computer needs it
        self.url_error.setText(f"✖ {problem}" if problem else "")
        self.url_error.setVisible(bool(problem))
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
