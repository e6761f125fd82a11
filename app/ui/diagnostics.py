"""The diagnostics panel: the numbers behind the light, for those who want them, collapsed by default.

What the server said last, what adaptive throttling is doing, each source's server queue (fill,
backlog, drops) and the 60 s queue chart. The main view speaks plain language; the words "queue",
"backlog" and "drops" live only here. ``toggled(bool)`` fires when the user opens or closes it (the
shell remembers the choice in the settings); ``set_expanded`` restores it without firing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from app.ui.chart import FillChart
from app.ui.meters import SourcePanel

TITLE = "Diagnostics"


class DiagnosticsPanel(QWidget):
    toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diagnosticsPanel")
        self.toggle_button = QToolButton()
        self.toggle_button.setObjectName("diagnosticsToggle")
        self.toggle_button.setText(TITLE)
        self.toggle_button.setCheckable(True)
        self.toggle_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle_button.setAutoRaise(True)
        self.toggle_button.setToolTip("Show the backend's queues, drops and the 60 s chart")
        self.toggle_button.toggled.connect(self._toggled)
        self.server_status_label = QLabel()
        self.server_status_label.setObjectName("serverStatusLine")
        self.throttle_label = QLabel()
        self.throttle_label.setObjectName("throttleLine")
        for label in (self.server_status_label, self.throttle_label):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)  # server text is never rendered as HTML
            label.setVisible(False)
        self.panels = {name: SourcePanel(name) for name in ("system", "mic")}
        self.chart = FillChart()
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.server_status_label)
        body.addWidget(self.throttle_label)
        row = QHBoxLayout()
        for panel in self.panels.values():
            row.addWidget(panel)
        body.addLayout(row)
        body.addWidget(self.chart, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.body, 1)
        self.set_expanded(False)

    def set_expanded(self, expanded: bool) -> None:
        blocked = self.toggle_button.blockSignals(True)
        self.toggle_button.setChecked(expanded)
        self.toggle_button.blockSignals(blocked)
        self._show(expanded)

    def is_expanded(self) -> bool:
        return self.toggle_button.isChecked()

    def _toggled(self, expanded: bool) -> None:
        self._show(expanded)
        self.toggled.emit(expanded)

    def _show(self, expanded: bool) -> None:
        self.toggle_button.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.body.setVisible(expanded)
        vertical = QSizePolicy.Policy.Preferred if expanded else QSizePolicy.Policy.Maximum
        self.setSizePolicy(QSizePolicy.Policy.Preferred, vertical)

    def set_server_status(self, text: str) -> None:
        self.server_status_label.setText(text)
        self.server_status_label.setVisible(bool(text))

    def set_throttle_note(self, note: str) -> None:
        self.throttle_label.setText(f"Adaptive throttling: {note}" if note else "")
        self.throttle_label.setVisible(bool(note))
