"""The History tab: every meeting (date, duration, title, what was not transcribed, status), a search
box, and Open / Export / Delete. Plain values in (``MeetingRow``s), intents out (signals); the
``HistoryPresenter`` runs the queries off the UI thread and feeds this view.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal, SignalInstance
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.export import clock
from app.history.records import MeetingRow, MeetingState

SEARCH_DELAY_MS = 250
COLUMNS = ("Date", "Duration", "Title", "Not transcribed", "Status")
OUTCOME_WORDS = {"summary": "Complete", "no_summary": "No summary", "failed": "Failed",
                 "cancelled": "Stopped early"}


def date_text(started_at: float, now: float | None = None) -> str:
    """"Today 14:05", "Yesterday 09:30", "Thu 3 Dec 14:05", or with the year when it is not this one."""
    moment = datetime.fromtimestamp(started_at)
    today = datetime.fromtimestamp(time.time() if now is None else now).date()
    days = (today - moment.date()).days
    if days == 0:
        return f"Today {moment:%H:%M}"
    if days == 1:
        return f"Yesterday {moment:%H:%M}"
    if moment.year == today.year:
        return f"{moment:%a} {moment.day} {moment:%b %H:%M}"
    return f"{moment.day} {moment:%b %Y %H:%M}"


def status_text(row: MeetingRow) -> str:
    if row.state is MeetingState.RECORDING:
        return "Recording…"
    if row.state is MeetingState.INTERRUPTED:
        return "Interrupted (recovered)"
    return OUTCOME_WORDS.get(row.outcome, row.outcome or "Complete")


def row_texts(row: MeetingRow, now: float | None = None) -> tuple[str, str, str, str, str]:
    lost = f"{row.lost_seconds:.0f} s" if row.lost_seconds >= 0.5 else ""
    return (date_text(row.started_at, now), clock(row.duration), row.title, lost, status_text(row))


class HistoryPane(QWidget):
    search_changed = Signal(str)
    open_requested = Signal(int)
    export_requested = Signal(int)
    delete_requested = Signal(list)  # meeting ids
    retention_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyPane")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search transcripts, titles and summaries")
        self.search.setAccessibleName("Search meetings")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(lambda: self.search_changed.emit(self.search.text().strip()))
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        self.list = QTreeWidget()
        self.list.setAccessibleName("Meetings")
        self.list.setHeaderLabels(list(COLUMNS))
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.list.header()
        header.setStretchLastSection(False)
        for column in range(len(COLUMNS)):
            mode = QHeaderView.ResizeMode.Stretch if column == 2 else QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(column, mode)
        self.list.itemActivated.connect(lambda item, _col: self.open_requested.emit(_meeting_id(item)))
        self.list.itemSelectionChanged.connect(self._sync_buttons)
        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.open_button = QPushButton("&Open")
        self.open_button.clicked.connect(lambda: self._emit_selected(self.open_requested))
        self.export_button = QPushButton("E&xport…")
        self.export_button.clicked.connect(lambda: self._emit_selected(self.export_requested))
        self.delete_button = QPushButton("&Delete…")
        self.delete_button.clicked.connect(self._delete_selected)
        self.retention_label = QLabel()
        self.retention_label.setWordWrap(True)
        self.retention_button = QPushButton("Keep meetings…")
        self.retention_button.setToolTip("How long meetings are kept, and whether their audio is recorded")
        self.retention_button.clicked.connect(self.retention_requested)
        buttons = QHBoxLayout()
        for button in (self.open_button, self.export_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addWidget(self.retention_label, 1)
        buttons.addWidget(self.retention_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label)
        layout.addLayout(buttons)
        self._rows: dict[int, MeetingRow] = {}
        self.set_rows((), "")

    def set_rows(self, rows: Sequence[MeetingRow], query: str) -> None:
        selected = set(self.selected_ids())
        self.list.clear()
        self._rows = {row.id: row for row in rows}
        now = time.time()
        items = []
        for row in rows:
            item = QTreeWidgetItem(list(row_texts(row, now)))
            item.setData(0, Qt.ItemDataRole.UserRole, row.id)
            tip = f"“{row.snippet}”" if row.snippet else row.title
            item.setToolTip(2, tip)
            items.append(item)
        self.list.addTopLevelItems(items)
        for item in items:
            item.setSelected(_meeting_id(item) in selected)
        if rows:
            self.empty_label.setVisible(False)
        else:
            self.empty_label.setText(f"No meeting matches “{query}”." if query else
                                     "No meetings yet. Press Start: every meeting is kept here, "
                                     "even if the app is closed or crashes.")
            self.empty_label.setVisible(True)
        self._sync_buttons()

    def set_retention_text(self, text: str) -> None:
        self.retention_label.setText(text)

    def selected_ids(self) -> list[int]:
        return [_meeting_id(item) for item in self.list.selectedItems()]

    def row(self, meeting_id: int) -> MeetingRow | None:
        return self._rows.get(meeting_id)

    def texts(self) -> list[tuple[str, ...]]:
        """Every row as shown (for tests and screen readers' sake)."""
        items = (self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount()))
        return [tuple(item.text(c) for c in range(len(COLUMNS))) for item in items if item is not None]

    def _emit_selected(self, signal: SignalInstance) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            signal.emit(ids[0])

    def _delete_selected(self) -> None:
        ids = self._deletable(self.selected_ids())
        if ids:
            self.delete_requested.emit(ids)

    def _sync_buttons(self) -> None:
        ids = self.selected_ids()
        self.open_button.setEnabled(len(ids) == 1)
        self.export_button.setEnabled(len(ids) == 1)
        deletable = self._deletable(ids)
        self.delete_button.setEnabled(bool(deletable))
        busy = "A meeting being recorded cannot be deleted"
        self.delete_button.setToolTip("" if deletable or not ids else busy)

    def _deletable(self, ids: list[int]) -> list[int]:
        rows = [self._rows.get(i) for i in ids]
        return [r.id for r in rows if r is not None and r.state is not MeetingState.RECORDING]


def _meeting_id(item: QTreeWidgetItem) -> int:
    return int(item.data(0, Qt.ItemDataRole.UserRole))
