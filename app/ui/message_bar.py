"""An in-window message bar: how errors and notices reach the user (never a traceback).

Shows the latest message with a severity icon (from the style, so it follows the theme) and a
close button. Info messages hide themselves after a while; warnings and errors stay until closed
or replaced. ``offer`` adds one action button to the message shown (e.g. "Open Settings…" for an
error the settings fix); the next message takes it away.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

INFO_TIMEOUT_MS = 8000


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


_ICONS = {
    Severity.INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
    Severity.WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
    Severity.ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
}
_PREFIX = {Severity.INFO: "", Severity.WARNING: "Warning: ", Severity.ERROR: "Error: "}


class MessageBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAccessibleName("Dismiss message")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        self.action = QToolButton()
        self.action.setVisible(False)
        self.action.clicked.connect(self._act)
        self._on_action: Callable[[], None] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.icon)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action)
        layout.addWidget(close)
        self._severity = Severity.INFO
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.setVisible(False)

    def show_message(self, text: str, severity: Severity = Severity.INFO) -> None:
        self._withdraw()
        self._severity = severity
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self.icon.setPixmap(self.style().standardIcon(_ICONS[severity]).pixmap(size, size))
        self.text.setText(f"{_PREFIX[severity]}{text}")
        self.setAccessibleDescription(self.text.text())
        self.setVisible(True)
        if severity is Severity.INFO:
            self._timer.start(INFO_TIMEOUT_MS)
        else:
            self._timer.stop()

    def offer(self, label: str, on_click: Callable[[], None]) -> None:
        """Add a button to the message shown now; clicking it calls ``on_click`` and dismisses."""
        self._on_action = on_click
        self.action.setText(label)
        self.action.setAccessibleName(label)
        self.action.setVisible(True)

    def dismiss(self) -> None:
        self._timer.stop()
        self._withdraw()
        self.setVisible(False)

    def _act(self) -> None:
        on_click = self._on_action
        self.dismiss()
        if on_click is not None:
            on_click()

    def _withdraw(self) -> None:
        self._on_action = None
        self.action.setVisible(False)

    def current_text(self) -> str:
        return "" if self.isHidden() else self.text.text()

    def severity(self) -> Severity:
        return self._severity
