"""Export a meeting to a file: one Save dialog for Markdown, JSON and SRT (the filter chooses), a dated
default name, the Documents folder at first and then the last folder used, and an atomic write off
the UI thread (``app.fileio.write_atomic`` in an executor), so a full disk or a crash never leaves a
truncated export. Also "Copy transcript" (the timeline as plain text) to the clipboard.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QStandardPaths, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QWidget

from app.core.export import (
    ExportDocument,
    clock,
    loss_range,
    loss_text,
    speaker_tag,
    suggested_filename,
    to_markdown,
)
from app.core.export_data import to_json, to_srt
from app.core.losses import LossSpan
from app.fileio import write_atomic

log = logging.getLogger(__name__)

FORMATS = {"md": "Markdown (*.md)", "json": "JSON (*.json)", "srt": "SubRip subtitles (*.srt)"}
LAST_FOLDER = "last_export_folder"
# (parent, default path, filters) -> (chosen path or "", chosen filter): the Save dialog, or a test's stand-in
Chooser = Callable[[QWidget | None, str, str], tuple[str, str]]


class UiState(Protocol):
    def ui_value(self, name: str) -> str: ...

    def set_ui_value(self, name: str, value: str) -> None: ...


def render(doc: ExportDocument, fmt: str) -> str:
    if fmt == "json":
        return to_json(doc)
    if fmt == "srt":
        return to_srt(doc)
    return to_markdown(doc)


def transcript_text(doc: ExportDocument) -> str:
    """The timeline as plain lines, for the clipboard."""
    lines = []
    for item in doc.timeline():
        if isinstance(item, LossSpan):
            lines.append(f"[{loss_range(item)}] {loss_text(item)}")
        else:
            lines.append(f"[{'~' if item.approximate else ''}{clock(item.t0)}] {speaker_tag(item)}: "
                         f"{' '.join(item.text.split())}")
    return "\n".join(lines)


def _save_dialog(parent: QWidget | None, default: str, filters: str) -> tuple[str, str]:
    return QFileDialog.getSaveFileName(parent, "Export meeting", default, filters)


class Exporter(QObject):
    """``export(doc)`` asks where, then writes; ``message(text, is_error)`` says how it went."""

    message = Signal(str, bool)
    written = Signal(str)  # the path, once on disk

    def __init__(self, state: UiState, parent: QWidget | None = None,
                 chooser: Chooser = _save_dialog) -> None:
        super().__init__(parent)
        self._state = state
        self._parent = parent
        self.chooser = chooser
        self._writing: set[asyncio.Future[None]] = set()

    def default_folder(self) -> Path:
        last = self._state.ui_value(LAST_FOLDER)
        if last and Path(last).is_dir():
            return Path(last)
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        return Path(documents) if documents and Path(documents).is_dir() else Path.home()

    def export(self, doc: ExportDocument | None, fmt: str = "md") -> None:
        if doc is None:
            self.message.emit("Nothing to export yet: start a meeting or open one from History.", True)
            return
        filters = ";;".join([FORMATS[fmt], *(f for key, f in FORMATS.items() if key != fmt)])
        default = self.default_folder() / suggested_filename(doc, fmt)
        name, chosen = self.chooser(self._parent, str(default), filters)
        if not name:
            return
        fmt = next((key for key, f in FORMATS.items() if f == chosen), _format_of(name) or fmt)
        path = Path(name)
        if path.suffix.lower() != f".{fmt}":
            path = path.with_name(f"{path.name}.{fmt}")
        self._state.set_ui_value(LAST_FOLDER, str(path.parent))
        task = asyncio.ensure_future(self.write(doc, fmt, path))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def write(self, doc: ExportDocument, fmt: str, path: Path) -> None:
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(None, lambda: render(doc, fmt).encode("utf-8"))
            await loop.run_in_executor(None, write_atomic, path, data)
        except OSError as exc:
            log.warning("export to %s failed: %s", path, exc)
            self.message.emit(f"Could not write {path}: {exc.strerror or exc}. Choose another folder.", True)
            return
        log.info("exported %s to %s", fmt, path)
        self.message.emit(f"Exported to {path}", False)
        self.written.emit(str(path))

    def copy_transcript(self, doc: ExportDocument | None) -> None:
        text = transcript_text(doc) if doc is not None else ""
        if not text:
            self.message.emit("There is no transcript to copy yet.", True)
            return
        QGuiApplication.clipboard().setText(text)
        self.message.emit(f"Copied the transcript ({len(text.splitlines())} lines).", False)


def _format_of(name: str) -> str:
    suffix = Path(name).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else ""
