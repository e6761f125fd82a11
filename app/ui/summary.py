"""The final summary view: the backend's summary (or, until it arrives, notes built from the live
transcript and cards), with export to Markdown, JSON and SRT through the pure ``app.core.export``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.export import ExportDocument, suggested_filename, to_json, to_markdown, to_srt
from app.fileio import write_text_atomic

log = logging.getLogger(__name__)

FORMATS = {  # key -> (button text, file filter, extension)
    "md": ("Export Markdown…", "Markdown (*.md)", "md"),
    "json": ("Export JSON…", "JSON (*.json)", "json"),
    "srt": ("Export SRT…", "SubRip subtitles (*.srt)", "srt"),
}


def render(doc: ExportDocument, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(doc)
    if fmt == "json":
        return to_json(doc)
    return to_srt(doc.segments)


class SummaryView(QWidget):
    """``set_document(doc)`` to show; emits ``message(text, is_error)`` after an export."""

    message = Signal(str, bool)

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
        for key, (text, _, _) in FORMATS.items():
            button = QPushButton(text)
            button.clicked.connect(lambda _checked=False, k=key: self.export_with_dialog(k))
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
            # The backend's summary is the final word when it exists; until then, live notes.
            self.browser.setMarkdown(
                doc.summary_markdown if has_summary and doc.summary_markdown else to_markdown(doc)
            )

    def document(self) -> ExportDocument | None:
        return self._doc

    def export_to(self, fmt: str, path: Path) -> None:
        """Write the current document as ``fmt`` ("md", "json", "srt") to ``path``; raises OSError."""
        if self._doc is None:
            raise ValueError("nothing to export")
        write_text_atomic(path, render(self._doc, fmt))  # a failed export leaves no truncated file
        log.info("exported %s to %s", fmt, path)

    def export_with_dialog(self, fmt: str) -> None:
        if self._doc is None:
            return
        _, file_filter, ext = FORMATS[fmt]
        name, _ = QFileDialog.getSaveFileName(
            self, "Export", suggested_filename(self._doc.session_id, ext), file_filter
        )
        if not name:
            return
        path = Path(name)
        try:
            self.export_to(fmt, path)
        except OSError as exc:
            self.message.emit(f"Could not write {path}: {exc.strerror or exc}. Choose another folder.", True)
            return
        self.message.emit(f"Exported to {path}", False)

    def _update_buttons(self) -> None:
        enabled = self._doc is not None
        for key, button in self.buttons.items():
            button.setEnabled(enabled and (key != "srt" or bool(self._doc and self._doc.finals)))
