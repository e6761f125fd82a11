"""Feeds the History tab from the database and carries out its intents: list and search (off the UI
thread, one query at a time, the latest wins), open a meeting in its own window, export, delete
after a confirmation (the recording goes with it).

Threads: the queries run in a one-thread executor (``HistoryReader`` blocks for their duration);
deletions go through the history's writer thread; everything else is the Qt main thread, which is the
asyncio loop (qasync). A failing query becomes a message, never an exception in the UI.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.history import History, HistoryError, MeetingRow, StoredMeeting
from app.history.document import export_document
from app.ui.exporting import Exporter
from app.ui.history_view import HistoryPane
from app.ui.meeting_view import MeetingWindow
from app.ui.message_bar import Severity

log = logging.getLogger(__name__)

Confirm = Callable[[QWidget, str, str], bool]
T = TypeVar("T")


def ask(parent: QWidget, title: str, text: str) -> bool:
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    answer = QMessageBox.question(parent, title, text, buttons, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


class HistoryPresenter(QObject):
    message = Signal(str, object)  # text, Severity
    refreshed = Signal(int)  # rows shown

    def __init__(self, history: History, pane: HistoryPane, exporter: Exporter, parent: QWidget,
                 confirm: Confirm = ask) -> None:
        super().__init__(parent)
        self.history = history
        self.pane = pane
        self.exporter = exporter
        self.confirm = confirm
        self._parent = parent
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="history-read")
        self._query = ""
        self._generation = 0
        self._tasks: set[asyncio.Future[None]] = set()
        self.windows: list[MeetingWindow] = []
        pane.search_changed.connect(self.search)
        pane.open_requested.connect(lambda meeting_id: self._spawn(self.open(meeting_id)))
        pane.export_requested.connect(lambda meeting_id: self._spawn(self.export(meeting_id)))
        pane.delete_requested.connect(lambda ids: self._spawn(self.delete(ids)))

    # ------------------------------------------------------------------ intents

    @property
    def query(self) -> str:
        return self._query

    def refresh(self) -> None:
        self._spawn(self.load(self._query))

    def search(self, text: str) -> None:
        self._query = text
        self.refresh()

    async def load(self, query: str) -> None:
        self._generation += 1
        generation = self._generation
        reader = self.history.reader
        try:
            rows: list[MeetingRow] = await self._read(
                lambda: reader.search(query) if query else reader.list_meetings())
        except (HistoryError, OSError) as exc:
            self.message.emit(f"The meeting history cannot be read: {exc}", Severity.ERROR)
            return
        if generation == self._generation:  # a later search has not overtaken this one
            self.pane.set_rows(rows, query)
            self.refreshed.emit(len(rows))

    async def open(self, meeting_id: int) -> MeetingWindow | None:
        meeting = await self._meeting(meeting_id)
        if meeting is None:
            return None
        window = MeetingWindow(meeting, self._parent, self.history.folder)
        window.export_requested.connect(lambda fmt: self.exporter.export(export_document(meeting), fmt))
        window.copy_requested.connect(lambda: self.exporter.copy_transcript(export_document(meeting)))
        window.delete_requested.connect(lambda: self._spawn(self.delete([meeting_id], window)))
        window.destroyed.connect(lambda: self.windows.remove(window) if window in self.windows else None)
        self.windows.append(window)
        window.show()
        return window

    async def export(self, meeting_id: int) -> None:
        meeting = await self._meeting(meeting_id)
        if meeting is not None:
            self.exporter.export(export_document(meeting))

    async def delete(self, ids: list[int], window: QWidget | None = None) -> int:
        row = self.pane.row(ids[0]) if len(ids) == 1 else None
        what = f"{len(ids)} meetings" if len(ids) > 1 else (f"“{row.title}”" if row else "this meeting")
        text = (f"Delete {what}? Its transcript, summary, notes and any recorded audio are removed from this "
                "computer. This cannot be undone.")
        if not self.confirm(window or self._parent, "Delete meetings", text):
            return 0
        try:
            deleted: int = await asyncio.wrap_future(self.history.delete(ids))
        except (HistoryError, OSError) as exc:
            self.message.emit(f"Could not delete: {exc}", Severity.ERROR)
            return 0
        if window is not None:
            window.close()
        self.message.emit(f"Deleted {deleted} meeting{'s' if deleted != 1 else ''}.", Severity.INFO)
        await self.load(self._query)
        return deleted

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ internals

    async def _meeting(self, meeting_id: int) -> StoredMeeting | None:
        try:
            meeting = await self._read(lambda: self.history.reader.load(meeting_id))
        except (HistoryError, OSError) as exc:
            self.message.emit(f"The meeting cannot be read: {exc}", Severity.ERROR)
            return None
        if meeting is None:
            self.message.emit("That meeting no longer exists.", Severity.WARNING)
            self.refresh()
        return meeting

    async def _read(self, query: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, query)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
