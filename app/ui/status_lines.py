"""The words beside the light: the headline (its reason, large), the detail, the silent-source warning,
and one small line with the server's own load level (its glyph and word) and the connection (what it
does, the meeting's time, reconnects). Every line comes from one ``StatusView`` (``set_view``) or the
``ConnectionView`` (``connection_text`` says what its line reads); a line with nothing to say is hidden,
so no line outlives its cause.

A failed session says why here, once (not again in the message bar); when the settings can fix it,
``offer`` puts a button beside the reason, which goes when the light leaves "failed".
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.export import clock
from app.core.status_report import Light
from app.ui.level_style import level_pixmap
from app.ui.models import ConnectionView
from app.ui.status_view import StatusView

HEADLINE_SCALE = 1.35
BADGE_SCALE = 0.9
CONNECTION_WORDS = {
    "checking": "Checking the backend",
    "connecting": "Connecting",
    "streaming": "Streaming",
    "reconnecting": "Reconnecting",
    "stopping": "Stopping, waiting for the summary",
}


def connection_text(view: ConnectionView) -> str:
    """While a session runs: what the connection does, the meeting's time and reconnects; else ""."""
    parts = []
    if view.running:
        parts.append(view.detail or CONNECTION_WORDS.get(view.state, view.state))
        if view.elapsed_seconds > 0:
            parts.append(clock(view.elapsed_seconds))
        if view.reconnects:
            parts.append(f"{view.reconnects} reconnect{'s' if view.reconnects != 1 else ''}")
    return " · ".join(parts)


def _scaled(font: QFont, factor: float, bold: bool = False) -> QFont:
    font = QFont(font)
    font.setBold(bold)
    font.setPointSizeF(max(font.pointSizeF(), 9.0) * factor)
    return font


class StatusLines(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusLines")
        self.headline = QLabel()
        self.headline.setObjectName("statusHeadline")
        self.headline.setFont(_scaled(self.headline.font(), HEADLINE_SCALE, bold=True))
        self.detail = QLabel()
        self.detail.setObjectName("statusDetail")
        self.silent = QLabel()
        self.silent.setObjectName("silentSourceLine")
        self.badge = QLabel()
        self.badge.setObjectName("serverLevelBadge")
        self.badge.setFont(_scaled(self.badge.font(), BADGE_SCALE))
        self.badge_icon = QLabel()
        self.connection = QLabel()
        self.connection.setObjectName("connectionLine")
        self.action = QPushButton()
        self.action.setObjectName("statusAction")
        self.action.setVisible(False)
        self.action.clicked.connect(self._act)
        self._on_action: Callable[[], None] | None = None
        self._failed = False
        for label in (self.headline, self.detail, self.silent, self.badge, self.connection):
            label.setTextFormat(Qt.TextFormat.PlainText)  # server text is never rendered as HTML
            label.setWordWrap(label is not self.badge)
        small = QHBoxLayout()
        small.setContentsMargins(0, 0, 0, 0)
        small.addWidget(self.badge_icon)
        small.addWidget(self.badge)
        small.addSpacing(12)
        small.addWidget(self.connection, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        why = QHBoxLayout()
        why.setContentsMargins(0, 0, 0, 0)
        why.addWidget(self.detail, 1)
        why.addWidget(self.action)
        layout.addLayout(why)
        layout.addWidget(self.silent)
        layout.addLayout(small)

    def set_view(self, view: StatusView) -> None:
        if self._failed and view.light is not Light.FAILED:
            self.withdraw()  # the failure it fixed is over
        self._failed = view.light is Light.FAILED
        self.headline.setText(view.headline)
        for label, text in ((self.detail, view.detail), (self.silent, view.silent_line),
                            (self.badge, view.server_line)):
            label.setText(text)
            label.setVisible(bool(text))
        self.badge_icon.setVisible(bool(view.server_line))
        if view.server_line:
            side = self.badge.fontMetrics().height()
            pixmap = level_pixmap(view.server_level, side * 2)
            pixmap.setDevicePixelRatio(2.0)  # drawn at twice the size: sharp at 1x and at 2x
            self.badge_icon.setPixmap(pixmap)

    def set_connection(self, text: str) -> None:
        self.connection.setText(text)
        self.connection.setVisible(bool(text))

    def offer(self, label: str, on_click: Callable[[], None]) -> None:
        """A button beside the reason (e.g. "Open Settings…" for a refused token)."""
        self._on_action = on_click
        self.action.setText(label)
        self.action.setAccessibleName(label)
        self.action.setVisible(True)

    def withdraw(self) -> None:
        self._on_action = None
        self.action.setVisible(False)

    def _act(self) -> None:
        on_click = self._on_action
        if on_click is not None:
            on_click()
