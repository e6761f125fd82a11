"""Help > About: the version, where the log and the settings are kept (with a button that opens the
log folder in the file manager), and the backend in use. What a user needs when reporting a problem.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLayout,
    QVBoxLayout,
    QWidget,
)

APP_TITLE = "EchoPanel Companion"
UrlOpener = Callable[[QUrl], bool]


@dataclass(frozen=True, slots=True)
class AboutInfo:
    version: str
    log_path: Path | None  # None: the log folder was not writable, so there is no log file
    settings_path: str  # a file, or a registry key on Windows
    backend: str


def _value(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # for copy and paste
    return label


class AboutDialog(QDialog):
    """``open_url`` opens the log folder (``QDesktopServices.openUrl``; tests pass a recorder)."""

    def __init__(
        self, info: AboutInfo, open_url: UrlOpener = QDesktopServices.openUrl, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_TITLE}")
        self._info = info
        self._open_url = open_url
        title = QLabel(f"{APP_TITLE} {info.version}")
        title.setObjectName("aboutTitle")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        title.setFont(font)
        blurb = QLabel(
            "Streams meeting audio to an EchoPanel backend and shows its load, transcript and summary."
        )
        self.log_label = _value(
            str(info.log_path) if info.log_path else "none (the log folder is not writable; see the terminal)"
        )
        self.settings_label = _value(info.settings_path)
        self.backend_label = _value(info.backend)
        form = QFormLayout()
        form.addRow("Log file:", self.log_label)
        form.addRow("Settings:", self.settings_label)
        form.addRow("Backend:", self.backend_label)
        form.addRow("Runtime:", _value(f"Python {platform.python_version()}, PySide6 {pyside_version}"))
        self.fallback_label = _value("")
        self.fallback_label.setWordWrap(True)
        self.fallback_label.setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_log_button = buttons.addButton("Open &log folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_log_button.setEnabled(info.log_path is not None)
        self.open_log_button.clicked.connect(self.open_log_folder)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(blurb)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addWidget(self.fallback_label)
        layout.addSpacing(6)
        layout.addWidget(buttons)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetFixedSize)  # fits its text, no stray gaps

    def open_log_folder(self) -> bool:
        """Open the folder in the file manager; where none can be opened (a minimal desktop, a server),
        say where the folder is instead of doing nothing."""
        if self._info.log_path is None:
            return False
        folder = self._info.log_path.parent
        if self._open_url(QUrl.fromLocalFile(str(folder))):
            return True
        self.fallback_label.setText(f"No file manager could be opened. The log folder is:\n{folder}")
        self.fallback_label.setVisible(True)
        return False

    def text(self) -> str:
        """Everything the dialog lists, one line per row (for tests and bug reports)."""
        rows = (self.log_label, self.settings_label, self.backend_label)
        return "\n".join(label.text() for label in rows)
