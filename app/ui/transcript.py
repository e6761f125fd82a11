"""The transcript pane: finals and live partials per source, with timestamps, in a virtualised list.

Contract of ``set_segments(segments)``: ``segments`` is the session's transcript (finals in session
time order, then at most one live partial per source). The unchanged leading rows stay as they are;
the rows after the first difference are replaced in place and only the difference in count is added
or removed at the end (a lagging source's final usually lands near the end), so a partial turns into
its final without flicker or duplication and a long meeting never re-renders in full. One row per
segment. Lost audio is marked inline where it happened (``set_losses``): a row "[00:20–00:33] System
audio not transcribed: backend overloaded" among the finals, by time, in the words of the exports.

Memory (issue 17): the list lays out only the rows on screen (``app.ui.transcript_view``); what the
pane keeps per line is a reference to the session's segment and its wrapped height, not a laid-out
text document, so an hours-long meeting costs bytes per line rather than kilobytes.

Autoscroll: the view follows new text while it is scrolled to the bottom; when the user scrolls
up it stops following (and says so) until the user returns to the bottom or clicks "Jump to latest".
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.export import clock as format_timestamp
from app.core.losses import LossSpan
from app.core.session_state import TranscriptSegment
from app.core.transcript_rows import plan_rows, row_parts, row_text, with_losses
from app.ui.present import split_transcript
from app.ui.transcript_view import TranscriptModel, TranscriptRowsView

__all__ = ["TranscriptPane", "format_timestamp"]


class TranscriptPane(QWidget):
    following_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptPane")
        self.model = TranscriptModel()
        self.view = TranscriptRowsView(self.model)
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
        self._segments: Sequence[TranscriptSegment] = ()
        self._losses: Sequence[LossSpan] = ()
        self._following = True
        self._updating = False
        self.view.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        # the range also changes on a resize or when the paused bar comes and goes: stay at the end
        self.view.verticalScrollBar().rangeChanged.connect(self._on_range_changed)
        self._warm_up()

    def _warm_up(self) -> None:
        """Lay out one row of every kind now: the first layout loads fonts (~20 ms), which would
        otherwise stall the event loop when the first transcript line arrives mid-session."""
        for is_final in (True, False):
            self.view.row_delegate.warm_up(row_parts(TranscriptSegment("mic", "warm-up", 0.0, 0.0, is_final)))

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
        finals, partials = split_transcript(self._segments)
        rows = [*with_losses(finals, self._losses), *partials]
        plan = plan_rows(self.model.rows, rows)
        if plan.replace == plan.insert == plan.remove == 0:
            return
        self.view.row_delegate.forget_from(plan.keep)  # those rows are measured again when shown
        self._updating = True
        try:
            self.model.replace_rows(plan.keep, rows)
            self.view.settle()
        finally:
            self._updating = False
        if self._following:
            self._scroll_bottom()

    def clear(self) -> None:
        self._segments, self._losses = (), ()
        self.view.row_delegate.forget_from(0)
        self.model.replace_rows(0, [])

    def is_following(self) -> bool:
        return self._following

    def plain_text(self) -> str:
        return "\n".join(row_text(row) for row in self.model.rows)

    def scroll_to_latest(self) -> None:
        self.view.settle()
        self._scroll_bottom()
        self._set_following(True)

    # ------------------------------------------------------------------ internals

    def _scroll_bottom(self) -> None:
        bar = self.view.verticalScrollBar()
        was_updating, self._updating = self._updating, True  # also called from within _render
        try:
            bar.setValue(bar.maximum())
        finally:
            self._updating = was_updating

    def _on_range_changed(self, _minimum: int, _maximum: int) -> None:
        if self._following:
            self._scroll_bottom()

    def _on_scrolled(self, value: int) -> None:
        if self._updating:
            return  # our own edits move the bar; only the user's scrolling changes following
        bar = self.view.verticalScrollBar()
        self._set_following(value >= bar.maximum())  # the bar counts rows: the last page is the end

    def _set_following(self, following: bool) -> None:
        if following == self._following:
            return
        self._following = following
        self._paused_bar.setVisible(not following)
        self.following_changed.emit(following)
