"""The settings dialog's Backend tab: built-in or an address, the token, the opt-in to send the token
unencrypted to another computer, and "Test connection" (``app.ui.connection_test``).

It checks the address as it is typed: a mistyped one is refused with the reason right under it
(``app.core.address``), and the unencrypted-token opt-in is offered only for a ws:// address to
another computer. It edits values only; ``app.ui.settings_dialog.SettingsDialog`` reads them.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QWidget,
)

from app.core.address import address_problem
from app.core.endpoint import parse_endpoint
from app.core.settings import Settings
from app.core.settings_values import parse_url
from app.errors import ConfigError
from app.ui.connection_test import ConnectionTest

INSECURE_LABEL = "Send the token unencrypted to this backend (not recommended)"
INSECURE_TIP = ("This address is another computer reached without TLS (ws://): anyone on the network path "
                "can read the token. The app refuses to send it there unless this is ticked. Prefer wss://.")


def wrapped(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class BackendPage(QWidget):
    """Emits ``edited`` when the backend choice, the address or the token changed."""

    edited = Signal()

    def __init__(self, settings: Settings, token: str, token_note: str,
                 connection_test: ConnectionTest) -> None:
        super().__init__()
        self.builtin_radio = QRadioButton("Built-in backend (runs on this computer)")
        self.remote_radio = QRadioButton("EchoPanel backend at:")
        group = QButtonGroup(self)
        group.addButton(self.builtin_radio)
        group.addButton(self.remote_radio)
        self.url_edit = QLineEdit(settings.backend_url)
        self.url_edit.setPlaceholderText("127.0.0.1:8000 or wss://echopanel.example.com")
        self.url_edit.setAccessibleName("Backend URL")
        self.url_error = wrapped()
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
        self.token_note = wrapped(token_note)
        self.insecure_check = QCheckBox(INSECURE_LABEL)
        self.insecure_check.setToolTip(INSECURE_TIP)
        self.insecure_check.setChecked(bool(settings.backend_url)
                                       and settings.insecure_token_url == settings.backend_url)
        self.test_button = connection_test.button
        self.test_result = connection_test.result
        (self.builtin_radio if settings.uses_builtin_backend else self.remote_radio).setChecked(True)
        form = QFormLayout(self)
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
            signal.connect(self.edited)

    def set_tab_order(self) -> None:
        chain = (self.builtin_radio, self.remote_radio, self.url_edit, self.token_edit, self.test_button)
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def focus_choice(self) -> None:
        """Focus on the backend choice, the first decision, not in the token field."""
        (self.builtin_radio if self.builtin_radio.isChecked() else self.remote_radio).setFocus()

    # ------------------------------------------------------------------ values

    def url(self) -> str:
        """"" for the built-in backend, else the address as a URL. Only valid while ``problem()`` is ""."""
        return "" if self.builtin_radio.isChecked() else self._normalised_url()

    def insecure_url(self, url: str) -> str:
        """``url`` if the user allowed the token to go there unencrypted (and that applies), else ""."""
        return url if self.insecure_check.isEnabled() and self.insecure_check.isChecked() else ""

    def token(self) -> str:
        return self.token_edit.text().strip()

    def problem(self) -> str:
        """What is wrong with the address as shown under it, or ""."""
        return self.url_error.text().removeprefix("✖ ") if not self.url_error.isHidden() else ""

    # ------------------------------------------------------------------ validation

    def _normalised_url(self) -> str:
        """What the user typed, as a URL the settings accept ("host:port" gets the scheme policy's scheme)."""
        return parse_url(parse_endpoint(self.url_edit.text()).ws_url)

    def revalidate(self) -> str:
        """Check the address as typed: show the problem under it, offer the opt-in where it applies, and
        return the problem ("" if none)."""
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
        return problem
