"""The final summary view: the backend's summary (or, until it arrives, notes built from the live
transcript and cards), with buttons that ask for an export (``app.ui.exporting`` writes the file).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.export import ExportDocument, summary_prose, to_markdown

log = logging.getLogger(__name__)

BUTTONS = {"md": "Export Markdown…", "json": "Export JSON…", "srt": "Export SRT…"}


class SummaryView(QWidget):
    """``set_document(doc)`` to show; emits ``export_requested(fmt)`` ("md", "json", "srt")."""

    export_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("summaryView")
        self._doc: ExportDocument | None = None
        self._dirty = False
        self.origin_label = QLabel("No session yet.")
        self.origin_label.setWordWrap(True)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setAccessibleName("Summary")
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        row.addWidget(self.origin_label, 1)
        for key, text in BUTTONS.items():
            button = QPushButton(text)
            button.clicked.connect(lambda _checked=False, k=key: self.export_requested.emit(k))
            self.buttons[key] = button
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.browser, 1)
        self._update_buttons()

    def set_document(self, doc: ExportDocument | None) -> None:
        """Keep ``doc``; render it now if the view is visible, else when it is next shown (rendering
        a long meeting's notes costs milliseconds, so a hidden tab never pays it at 2 Hz)."""
        if doc == self._doc:
            return
        self._doc = doc
        self._update_buttons()
        self._dirty = True
        if self.isVisible():
            self._render()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._dirty:
            self._render()

    def _render(self) -> None:
        self._dirty = False
        doc = self._doc
        if doc is None:
            self.browser.clear()
            self.origin_label.setText("No session yet.")
        else:
            has_summary = bool(doc.summary_markdown and doc.summary_markdown.strip())
            self.origin_label.setText(
                "Final summary from the backend."
                if has_summary
                else "Live notes (the backend's final summary arrives after Stop)."
            )
            # The backend's summary is the final word when it exists (without its own copies of the
            # transcript, actions and entities, which the other tabs show); until then, live notes.
            prose = summary_prose(doc.summary_markdown) if has_summary else ""
            self.browser.setMarkdown(prose or to_markdown(doc))

    def document(self) -> ExportDocument | None:
        return self._doc

    def _update_buttons(self) -> None:
        enabled = self._doc is not None
        for key, button in self.buttons.items():
            button.setEnabled(enabled and (key != "srt" or bool(self._doc and self._doc.finals)))
