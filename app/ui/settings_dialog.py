"""The settings dialog: backend (built-in or a URL) and token, sources and devices, audio encoding,
adaptive throttling, tray behaviour.

It edits values only: ``settings()`` and ``token()`` give the result; the shell persists them
(QSettings / keyring) and applies them. Adaptive throttling applies live; backend, token, sources
and encoding apply at the next Start, and the dialog says so while a session runs.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.core.endpoint import parse_endpoint
from app.core.settings import AudioEncoding, Settings, SourceSelection
from app.core.settings_values import parse_url
from app.errors import ConfigError
from app.ui.sources import DeviceLists, SourcePicker

ENCODINGS = (
    (AudioEncoding.AUTO, "Automatic (binary for this computer, JSON for remote backends)"),
    (AudioEncoding.BINARY, "Binary frames"),
    (AudioEncoding.JSON, "JSON (base64) frames"),
)
INSECURE_LABEL = "Send the token unencrypted to this backend (not recommended)"
INSECURE_TIP = ("This address is another computer reached without TLS (ws://): anyone on the network path "
                "can read the token. The app refuses to send it there unless this is ticked. Prefer wss://.")
NEXT_START_NOTE = "Backend, token, source and encoding changes apply the next time you press Start."


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
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings — EchoPanel Companion")
        self.setObjectName("settingsDialog")
        self.setMinimumWidth(680)  # room for both device names
        self._initial = settings
        self._initial_token = token
        self._running = session_running
        layout = QVBoxLayout(self)
        layout.addWidget(self._backend_box(settings, token, token_note))
        layout.addWidget(self._audio_box(settings, devices))
        layout.addWidget(self._behaviour_box(settings, tray_available))
        self.next_start_label = QLabel(NEXT_START_NOTE)
        self.next_start_label.setWordWrap(True)
        self.next_start_label.setVisible(False)
        layout.addWidget(self.next_start_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._revalidate()

    # ------------------------------------------------------------------ construction

    def _backend_box(self, settings: Settings, token: str, token_note: str) -> QGroupBox:
        box = QGroupBox("Backend")
        self.builtin_radio = QRadioButton("Built-in backend (runs inside this app)")
        self.remote_radio = QRadioButton("EchoPanel backend at:")
        group = QButtonGroup(box)
        group.addButton(self.builtin_radio)
        group.addButton(self.remote_radio)
        self.url_edit = QLineEdit(settings.backend_url)
        self.url_edit.setPlaceholderText("127.0.0.1:8000 or wss://echopanel.example.com")
        self.url_edit.setAccessibleName("Backend URL")
        self.url_error = QLabel()
        self.url_error.setWordWrap(True)
        self.url_error.setVisible(False)
        self.token_edit = QLineEdit(token)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setAccessibleName("Access token")
        self.token_edit.setPlaceholderText("empty for an open backend")
        self.token_note = QLabel(token_note)
        self.token_note.setWordWrap(True)
        self.insecure_check = QCheckBox(INSECURE_LABEL)
        self.insecure_check.setToolTip(INSECURE_TIP)
        self.insecure_check.setChecked(bool(settings.backend_url)
                                       and settings.insecure_token_url == settings.backend_url)
        (self.builtin_radio if settings.uses_builtin_backend else self.remote_radio).setChecked(True)
        form = QFormLayout(box)
        form.addRow(self.builtin_radio)
        form.addRow(self.remote_radio, self.url_edit)
        form.addRow(self.url_error)
        form.addRow("Access token:", self.token_edit)
        form.addRow(self.token_note)
        form.addRow(self.insecure_check)
        for signal in (self.builtin_radio.toggled, self.url_edit.textChanged, self.token_edit.textChanged):
            signal.connect(self._revalidate)
        return box

    def _audio_box(self, settings: Settings, devices: DeviceLists) -> QGroupBox:
        box = QGroupBox("Audio")
        self.sources = SourcePicker()
        self.sources.set_choice(settings.sources.value)
        self.sources.set_devices(devices, settings.mic_device, settings.system_device)
        self.encoding = QComboBox()
        self.encoding.setAccessibleName("Audio encoding")
        for value, label in ENCODINGS:
            self.encoding.addItem(label, value.value)
        self.encoding.setCurrentIndex(max(0, self.encoding.findData(settings.audio_encoding.value)))
        form = QFormLayout(box)
        form.addRow("Sources:", self.sources)
        form.addRow("Encoding:", self.encoding)
        self.sources.changed.connect(self._revalidate)
        self.encoding.currentIndexChanged.connect(self._revalidate)
        return box

    def _behaviour_box(self, settings: Settings, tray_available: bool) -> QGroupBox:
        box = QGroupBox("Behaviour")
        self.throttle_check = QCheckBox("Adaptive throttling (applies immediately)")
        self.throttle_check.setChecked(settings.adaptive_throttling)
        self.minimized_check = QCheckBox("Start minimised to the tray")
        self.minimized_check.setChecked(settings.start_minimized_to_tray and tray_available)
        self.minimized_check.setEnabled(tray_available)
        if not tray_available:
            self.minimized_check.setToolTip("No system tray is available on this desktop.")
        self.notify_check = QCheckBox("Notify when the backend is overloaded (at most every 2 minutes)")
        self.notify_check.setChecked(settings.notify_on_overload)
        layout = QVBoxLayout(box)
        for check in (self.throttle_check, self.minimized_check, self.notify_check):
            layout.addWidget(check)
        return box

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
        )

    def token(self) -> str:
        return self.token_edit.text().strip()

    def url_problem(self) -> str:
        return self.url_error.text() if not self.url_error.isHidden() else ""

    # ------------------------------------------------------------------ validation

    def _normalised_url(self) -> str:
        """What the user typed, as a URL the settings accept ("host:port" gets the scheme policy's scheme)."""
        return parse_url(parse_endpoint(self.url_edit.text()).ws_url)

    def _revalidate(self) -> None:
        self.url_edit.setEnabled(self.remote_radio.isChecked())
        problem, clear_text = "", False
        if self.remote_radio.isChecked():
            try:
                endpoint = parse_endpoint(self._normalised_url())
                clear_text = not endpoint.secure and not endpoint.is_loopback
            except ConfigError as exc:
                problem = str(exc)
            except ValueError as exc:
                problem = f"The backend address {exc}."
        self.insecure_check.setEnabled(clear_text)  # only a ws:// URL to another computer needs it
        self.url_error.setText(problem)
        self.url_error.setVisible(bool(problem))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)
        if not problem:
            self.next_start_label.setVisible(self._running and self._needs_restart())

    def _needs_restart(self) -> bool:
        before, after = self._initial, self.settings()
        fields = ("backend_url", "insecure_token_url", "sources", "mic_device", "system_device",
                  "audio_encoding")
        changed = any(getattr(before, f) != getattr(after, f) for f in fields)
        return changed or self.token() != self._initial_token
