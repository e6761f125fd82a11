"""The transcript's virtualised list: a model over the rows, a delegate that wraps and paints one row,
and the view that lays out only the rows it shows.

Why not a QTextEdit: a text document keeps the layout of every line it ever showed (about 2.8 kB per
line, issue 17), so a long meeting grew the window's memory line by line. Here the model holds only
references to the session's own segment objects, the delegate keeps one small int per row (its wrapped
height at the current width; measured when first needed, again only when the width, the font or the
row changes) and lays out text only to paint the rows on screen; Qt keeps an empty string and a row
record per row. About 0.1-0.15 kB per line in all (``python -m app.bench transcript``). Row text is
made on demand (``app.core.transcript_rows``).

Selection is by rows (click, Shift/Ctrl+click, drag, Ctrl+A); Ctrl+C and the context menu's Copy put
the selected rows on the clipboard as plain text, one line per row, in the words shown.
"""

from __future__ import annotations

import math

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QSize,
    QStringListModel,
    Qt,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QGuiApplication,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QWidget,
)

from app.core.transcript_rows import Row, RowKind, RowParts, row_parts, row_text

MARGIN = 4  # px left and right of the text (a text document's margin)
PAD = 1  # px above and below each row
LOSS_INK = {True: QColor("#ff8a80"), False: QColor("#b3261e")}  # on a dark base / on a light base
PLACEHOLDER = "The transcript appears here while a session runs."
AnyIndex = QModelIndex | QPersistentModelIndex


class TranscriptModel(QStringListModel):
    """The rows shown, as references; DisplayRole is the row's plain text (screen readers read it).

    Row count and indexes are Qt's own (C++): QTreeView asks them for every row on each layout, and a
    Python ``rowCount`` made that a call into Python per row of the meeting. The strings Qt stores
    stay empty (one shared null string per row); the text is made from ``rows`` when asked."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole) and index.isValid():
            return row_text(self.rows[index.row()])
        return None

    def replace_rows(self, keep: int, rows: list[Row]) -> None:
        """Show ``rows``, whose first ``keep`` are those shown: the rest are replaced in place, and only
        the difference in count is inserted or removed at the end (selection and scroll stay put)."""
        old = len(self.rows)
        common = min(old, len(rows))
        last = common - 1  # rows at the end of the range that did not change (the other source's
        while last >= keep and (self.rows[last] is rows[last] or self.rows[last] == rows[last]):
            last -= 1  # partial, when a final lands before it) are not repainted
        self.rows[keep:common] = rows[keep:common]
        if last >= keep:
            self.dataChanged.emit(self.index(keep), self.index(last))
        if len(rows) > old:
            self.rows.extend(rows[old:])  # before Qt announces them: the view may ask their text then
            self.insertRows(old, len(rows) - old)
        elif len(rows) < old:
            self.removeRows(len(rows), old - len(rows))
            del self.rows[len(rows):]


class RowDelegate(QStyledItemDelegate):
    """Wraps and paints one row. Remembers each row's height at the current width, and the laid-out
    text of the rows on screen (so a repaint draws them without laying them out again)."""

    def __init__(self, model: TranscriptModel, view: QAbstractItemView) -> None:
        super().__init__(view)
        self._model = model
        self._view = view
        self._heights: list[int] = []  # per row at self._width; 0 = not measured yet
        self._width = -1
        self._on_screen: dict[int, tuple[Row, int, bool, int, QTextLayout]] = {}  # row -> its layout

    def forget_from(self, row: int) -> None:
        """Drop the heights from ``row`` on (those rows changed)."""
        del self._heights[row:]

    def keep_only(self, first: int, last: int) -> None:
        """Keep the layouts of rows ``first``..``last`` (those on screen), drop the others."""
        for row in [row for row in self._on_screen if not first <= row <= last]:
            del self._on_screen[row]

    def height(self, row: int) -> int:
        width = max(1, self._view.viewport().width() - 2 * MARGIN)
        if width != self._width:
            self._heights.clear()
            self._width = width
        heights = self._heights
        if row >= len(heights):
            heights.extend([0] * (row + 1 - len(heights)))
        if not heights[row]:
            parts = row_parts(self._model.rows[row])
            heights[row] = math.ceil(self._layout(parts, width, self._view.palette(), False)[1]) + 2 * PAD
        return heights[row]

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return QSize(self._view.viewport().width(), self.height(index.row()))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        rect = option.rect
        palette = self._view.palette()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, palette.color(QPalette.ColorRole.Highlight))
        row, item, width, look = index.row(), self._model.rows[index.row()], rect.width(), palette.cacheKey()
        cached = self._on_screen.get(row)
        if cached is not None and cached[0] is item and cached[1:4] == (width, selected, look):
            layout = cached[4]
        else:
            layout, _ = self._layout(row_parts(item), max(1, width - 2 * MARGIN), palette, selected)
            self._on_screen[row] = (item, width, selected, look, layout)
        painter.save()
        ink = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(palette.color(ink))
        layout.draw(painter, QPointF(rect.x() + MARGIN, rect.y() + PAD))
        painter.restore()

    def warm_up(self, parts: RowParts) -> None:
        """Lay out one row now (the first layout of a font loads it: ~20 ms)."""
        self._layout(parts, 400, self._view.palette(), False)

    def _layout(
        self, parts: RowParts, width: int, palette: QPalette, selected: bool
    ) -> tuple[QTextLayout, float]:
        layout = QTextLayout(parts.text, self._view.font())
        layout.setFormats(row_formats(parts, palette, selected))
        option = QTextOption()
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        layout.setTextOption(option)
        layout.beginLayout()
        y = 0.0
        while (line := layout.createLine()).isValid():
            line.setLineWidth(width)
            line.setPosition(QPointF(0, y))
            y += line.height()
        layout.endLayout()
        return layout, y


def row_formats(parts: RowParts, palette: QPalette, selected: bool) -> list[QTextLayout.FormatRange]:
    """Muted time stamp, bold tag, italic muted partials, italic red loss markers (light or dark)."""
    muted = palette.color(QPalette.ColorRole.PlaceholderText)
    spans: list[tuple[int, int, QTextCharFormat]] = []
    if parts.kind is RowKind.LOSS:
        marker = QTextCharFormat()
        marker.setFontItalic(True)
        if not selected:
            marker.setForeground(LOSS_INK[palette.color(QPalette.ColorRole.Base).lightness() < 128])
        return [_range(0, len(parts.body), marker)]
    stamp, tag, body = QTextCharFormat(), QTextCharFormat(), QTextCharFormat()
    tag.setFontWeight(QFont.Weight.Bold)
    if not selected:
        stamp.setForeground(muted)
    if parts.kind is RowKind.PARTIAL:
        body.setFontItalic(True)
        if not selected:
            body.setForeground(muted)
    start = 0
    for text, fmt in ((parts.stamp, stamp), (parts.tag, tag), (parts.body, body)):
        spans.append((start, len(text), fmt))
        start += len(text)
    return [_range(*span) for span in spans]


def _range(start: int, length: int, fmt: QTextCharFormat) -> QTextLayout.FormatRange:
    span = QTextLayout.FormatRange()
    span.start, span.length, span.format = start, length, fmt
    return span


class TranscriptRowsView(QTreeView):
    """One column of wrapped rows, scrolled by rows; copies its selected rows as text and shows a
    placeholder line while empty.

    A QTreeView, not a QListView: QListView lays out every row again (a sizeHint per row) on each
    insert or change, which at a few thousand lines cost tens of milliseconds per final; QTreeView
    scrolled per row asks only the rows it shows (and those of the last page, for the scroll range)
    and re-measures only the rows that changed."""

    def __init__(self, model: TranscriptModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.row_delegate = RowDelegate(model, self)
        self.setItemDelegate(self.row_delegate)
        self.setHeaderHidden(True)
        self.setRootIsDecorated(False)
        self.setItemsExpandable(False)
        self.setIndentation(0)
        self.setUniformRowHeights(False)
        self.setAllColumnsShowFocus(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        # always there: a bar that came and went would change the width, so the wrapping, so the height
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAccessibleName("Transcript")
        self.copy_action = self._action("&Copy", QKeySequence.StandardKey.Copy, self.copy_selection)
        select_all = QKeySequence.StandardKey.SelectAll
        self.select_all_action = self._action("Select &all", select_all, self.selectAll)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._laid_out_width = -1

    def _action(self, text: str, keys: QKeySequence.StandardKey, slot: object) -> QAction:
        action = QAction(text, self)
        action.setShortcut(keys)
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def selected_text(self) -> str:
        model = self.model()
        assert isinstance(model, TranscriptModel)
        rows = sorted(index.row() for index in self.selectionModel().selectedIndexes())
        return "\n".join(row_text(model.rows[row]) for row in rows)

    def copy_selection(self) -> None:
        text = self.selected_text()
        if text:
            QGuiApplication.clipboard().setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.viewport().width() != self._laid_out_width:  # the rows wrap differently: measure again
            self._laid_out_width = self.viewport().width()
            self.scheduleDelayedItemsLayout()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self.row_delegate.forget_from(0)  # another font wraps differently
            self.scheduleDelayedItemsLayout()

    def settle(self) -> None:
        """Lay out now what changed, so the scroll bar's range is current before we scroll."""
        self.executeDelayedItemsLayout()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        rows = self.model().rowCount()
        if rows:
            first, last = self.indexAt(QPoint(0, 0)), self.indexAt(QPoint(0, self.viewport().height() - 1))
            self.row_delegate.keep_only(first.row(), last.row() if last.isValid() else rows - 1)
            return
        painter = QPainter(self.viewport())
        painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
        area = self.viewport().rect().adjusted(MARGIN, PAD, -MARGIN, -PAD)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap
        painter.drawText(area, flags, PLACEHOLDER)
