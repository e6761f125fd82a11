"""The transcript pane: finals and live partials per source, with timestamps.

Contract of ``set_segments(segments)``: ``segments`` is the session's transcript (finals in session
time order, then at most one live partial per source). The unchanged leading finals stay as they
are; only the document after the first difference is rewritten (a lagging source's final usually
lands near the end), and the partial region at the end is replaced in place on every call, so a
partial turns into its final without flicker or duplication and a long meeting never re-renders
in full. One block per segment, so block N is final N. Lost audio is marked inline where it
happened (``set_losses``): a block "[00:20–00:33] System audio not transcribed: backend overloaded"
among the finals, by time, in the words of the exports; a marker counts as one more item before the
partials. The document keeps no undo history (the edits are ours, not the user's), so its memory is
the text shown and no more.

Autoscroll: the view follows new text while it is scrolled to the bottom; when the user scrolls
up it stops following (and says so) until the user returns to the bottom or clicks "Jump to latest".
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFont, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTextEdit, QVBoxLayout, QWidget

from app.core.export import loss_range, loss_text
from app.core.losses import LossSpan
from app.core.session_state import TranscriptSegment
from app.ui.present import split_transcript

BOTTOM_TOLERANCE_PX = 4
SOURCE_TAGS = {"system": "System", "mic": "Mic"}
LOSS_INK = {True: QColor("#ff8a80"), False: QColor("#b3261e")}  # on a dark base / on a light base
Item = TranscriptSegment | LossSpan


def format_timestamp(seconds: float) -> str:
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class TranscriptPane(QWidget):
    following_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptPane")
        self.view = QTextEdit()
        self.view.setReadOnly(True)
        # No undo history: every partial is replaced in place (2 Hz for a whole meeting), and each
        # edit would otherwise keep its removed text and formats in the document's undo stack, so
        # memory grew for as long as the meeting ran. The user cannot edit this view anyway.
        self.view.setUndoRedoEnabled(False)
        self.view.setAccessibleName("Transcript")
        self.view.setPlaceholderText("The transcript appears here while a session runs.")
        self.paused_label = QLabel("Autoscroll paused while you read back.")
        self.jump_button = QPushButton("Jump to latest")
        self.jump_button.clicked.connect(self.scroll_to_latest)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.paused_label, 1)
        bar.addWidget(self.jump_button)
        self._paused_bar = QWidget()
        self._paused_bar.setLayout(bar)
        self._paused_bar.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self._paused_bar)
        self._finals: list[Item] = []  # finals and loss markers, as shown (block N is item N)
        self._segments: Sequence[TranscriptSegment] = ()
        self._losses: Sequence[LossSpan] = ()
        self._partial_start = 0  # document position where the partial region begins
        self._following = True
        self._updating = False
        self.view.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self._warm_up()

    def _warm_up(self) -> None:
        """Lay out one line in every text format now: the first layout loads fonts (~20 ms), which
        would otherwise stall the event loop when the first transcript line arrives mid-session."""
        self._updating = True
        try:
            cursor = QTextCursor(self.view.document())
            self._insert(cursor, TranscriptSegment("mic", "warm-up", 0.0, 0.0, True))
            self._insert(cursor, TranscriptSegment("mic", "warm-up", 0.0, 0.0, False))
            self.view.document().documentLayout().documentSize()
            self._reset_document()
        finally:
            self._updating = False

    # ------------------------------------------------------------------ interface

    def set_segments(self, segments: Sequence[TranscriptSegment]) -> None:
        self._segments = segments
        self._render()

    def set_losses(self, losses: Sequence[LossSpan]) -> None:
        """Mark where audio was lost; the markers stay among the finals where they belong."""
        if tuple(losses) == tuple(self._losses):
            return
        self._losses = tuple(losses)
        self._render()

    def _render(self) -> None:
        finals_only, partials = split_transcript(self._segments)
        finals = _with_losses(list(finals_only), self._losses)
        self._updating = True
        try:
            keep = _common_prefix(self._finals, finals)
            cursor = QTextCursor(self.view.document())
            cursor.setPosition(self._end_of_final(keep))
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            for segment in finals[keep:]:
                self._insert(cursor, segment)
            self._finals = finals
            self._partial_start = cursor.position()
            for segment in partials:
                self._insert(cursor, segment)
        finally:
            self._updating = False
        if self._following:
            self._scroll_bottom()

    def clear(self) -> None:
        self._segments, self._losses = (), ()
        self._reset_document()

    def is_following(self) -> bool:
        return self._following

    def plain_text(self) -> str:
        return self.view.toPlainText()

    def scroll_to_latest(self) -> None:
        self._scroll_bottom()
        self._set_following(True)

    # ------------------------------------------------------------------ internals

    def _end_of_final(self, count: int) -> int:
        """Document position just after the ``count`` first finals (each final is one block)."""
        if count == 0:
            return 0
        block = self.view.document().findBlockByNumber(count - 1)
        return block.position() + block.length() - 1

    def _reset_document(self) -> None:
        self.view.document().clear()
        self._finals = []
        self._partial_start = 0

    def _insert(self, cursor: QTextCursor, segment: Item) -> None:
        if cursor.position() > 0:
            cursor.insertBlock()
        pal = self.palette()
        if isinstance(segment, LossSpan):
            marker = QTextCharFormat()
            marker.setFontItalic(True)
            marker.setForeground(LOSS_INK[pal.color(QPalette.ColorRole.Base).lightness() < 128])
            cursor.insertText(f"[{loss_range(segment)}] {loss_text(segment)}", marker)
            return
        muted = QTextCharFormat()
        muted.setForeground(pal.color(QPalette.ColorRole.PlaceholderText))
        tag = QTextCharFormat()
        tag.setFontWeight(QFont.Weight.Bold)
        body = QTextCharFormat()
        if not segment.is_final:
            body.setFontItalic(True)
            body.setForeground(pal.color(QPalette.ColorRole.PlaceholderText))
        cursor.insertText(f"[{format_timestamp(segment.t0)}] ", muted)
        speaker = f" ({segment.speaker})" if segment.speaker else ""
        cursor.insertText(f"{SOURCE_TAGS.get(segment.source, segment.source)}{speaker}: ", tag)
        text = " ".join(segment.text.split())  # one block per segment: no line breaks inside
        cursor.insertText(text if segment.is_final else f"{text} …", body)

    def _scroll_bottom(self) -> None:
        bar = self.view.verticalScrollBar()
        self._updating = True
        try:
            bar.setValue(bar.maximum())
        finally:
            self._updating = False

    def _on_scrolled(self, value: int) -> None:
        if self._updating:
            return  # our own edits move the bar; only the user's scrolling changes following
        bar = self.view.verticalScrollBar()
        self._set_following(value >= bar.maximum() - BOTTOM_TOLERANCE_PX)

    def _set_following(self, following: bool) -> None:
        if following == self._following:
            return
        self._following = following
        self._paused_bar.setVisible(not following)
        self.following_changed.emit(following)


def _with_losses(finals: list[TranscriptSegment], losses: Sequence[LossSpan]) -> list[Item]:
    """The finals (in time order) with each loss marker before the first final that starts at or after it."""
    if not losses:
        return list(finals)
    starts = [s.t0 for s in finals]
    items: list[Item] = list(finals)
    for offset, span in enumerate(sorted(losses, key=lambda s: (s.start, s.source))):
        items.insert(bisect.bisect_left(starts, span.start) + offset, span)
    return items


def _common_prefix(shown: list[Item], new: list[Item]) -> int:
    """How many leading finals are unchanged (identity first: the session reuses its objects). The
    usual case, everything shown still there and maybe more after it, is one comparison at C speed
    rather than a Python loop over a long meeting twice a second."""
    if len(new) >= len(shown) and new[: len(shown)] == shown:
        return len(shown)
    count = 0
    for old, fresh in zip(shown, new, strict=False):
        if old is not fresh and old != fresh:
            break
        count += 1
    return count
