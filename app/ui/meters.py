"""Per-source panels: queue fill bar, backlog seconds, server drops (recent / total), client drops.

Takes ``SourceView`` values; updates its labels only when the values change.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QProgressBar, QWidget

from app.ui.models import SourceView


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


class SourcePanel(QGroupBox):
    """One source: a fill bar and the numbers behind the lamp."""

    def __init__(self, source: str, parent: QWidget | None = None) -> None:
        view = SourceView(source)
        super().__init__(view.title, parent)
        self.setObjectName(f"sourcePanel_{source}")
        self._view: SourceView | None = None
        self.fill_bar = QProgressBar()
        self.fill_bar.setRange(0, 100)
        self.fill_bar.setTextVisible(True)
        self.fill_bar.setAccessibleName(f"{view.title} server queue fill")
        self.backlog_label = QLabel()
        self.drops_label = QLabel()
        self.client_label = QLabel()
        form = QFormLayout(self)
        form.setContentsMargins(8, 6, 8, 6)
        form.addRow("Queue", self.fill_bar)
        form.addRow("Backlog", self.backlog_label)
        form.addRow("Server drops", self.drops_label)
        form.addRow("Client drops", self.client_label)
        self.set_view(view)

    def set_view(self, view: SourceView) -> None:
        if view == self._view:
            return
        self._view = view
        self.setEnabled(view.active)
        if view.fill_ratio is None:
            self.fill_bar.setValue(0)
            self.fill_bar.setFormat("no data")
        else:
            pct = round(max(0.0, min(1.0, view.fill_ratio)) * 100)
            self.fill_bar.setValue(pct)
            self.fill_bar.setFormat(f"{pct} % full")
        self.backlog_label.setText(_seconds(view.backlog_seconds))
        self.drops_label.setText(
            f"{view.dropped_recent_seconds:.1f} s recent · {view.dropped_total_seconds:.1f} s total"
        )
        self.client_label.setText(f"{view.client_dropped_seconds:.1f} s")
        self.setAccessibleDescription(
            f"{view.title}: queue {self.fill_bar.format()}, backlog {_seconds(view.backlog_seconds)}, "
            f"{self.drops_label.text()} dropped by the server"
        )

    def view(self) -> SourceView | None:
        return self._view
