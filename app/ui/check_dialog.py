"""The audio and backend check (shown at the first start, and from Help > Check audio and backend):
one row per check with its state, what was found and what to do. The checks themselves are injected
coroutines (``app.session.preflight`` bound to the current settings by the shell); they run one after
the other (two devices opening at once could disturb each other) on the asyncio loop, never blocking
the window. Closing the dialog cancels what is still running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.core.check_result import CheckResult, CheckState
from app.ui.screen_fit import clamp_to_screen

log = logging.getLogger(__name__)

Check = tuple[str, Callable[[], Awaitable[CheckResult]]]  # (title, run)
_ICONS = {
    CheckState.OK: QStyle.StandardPixmap.SP_DialogApplyButton,
    CheckState.WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
    CheckState.FAILED: QStyle.StandardPixmap.SP_MessageBoxCritical,
}
_WORDS = {CheckState.OK: "OK", CheckState.WARNING: "Needs attention", CheckState.FAILED: "Problem"}


class _Row:
    def __init__(self, grid: QGridLayout, row: int, title: str) -> None:
        self.icon = QLabel()
        self.icon.setFixedWidth(24)
        self.title = QLabel(f"<b>{title}</b>")
        self.state = QLabel("Waiting…")
        self.detail = QLabel()
        self.fix = QLabel()
        for label in (self.detail, self.fix):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix.setVisible(False)
        grid.addWidget(self.icon, row * 3, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.title, row * 3, 1)
        grid.addWidget(self.state, row * 3, 2, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.detail, row * 3 + 1, 1, 1, 2)
        grid.addWidget(self.fix, row * 3 + 2, 1, 1, 2)
        self.fix.setContentsMargins(0, 0, 0, 10)

    def show(self, widget: QWidget, result: CheckResult | None, busy: bool = False) -> None:
        if result is None:
            self.icon.clear()
            self.state.setText("Checking…" if busy else "Waiting…")
            self.detail.setText("")
            self.fix.setVisible(False)
            return
        size = widget.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self.icon.setPixmap(widget.style().standardIcon(_ICONS[result.state]).pixmap(size, size))
        self.state.setText(_WORDS[result.state])
        self.detail.setText(result.summary)
        self.detail.setContentsMargins(0, 0, 0, 0 if result.fix else 10)
        self.fix.setText(f"What to do: {result.fix}" if result.fix else "")
        self.fix.setVisible(bool(result.fix))


class CheckDialog(QDialog):
    """``run()`` starts (or restarts) the checks; ``finished_checks`` fires with every result."""

    finished_checks = Signal(object)  # list[CheckResult]
    settings_requested = Signal()

    def __init__(self, checks: Sequence[Check], parent: QWidget | None = None,
                 first_run: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("checkDialog")
        self.setWindowTitle("Check audio and backend — EchoPanel Companion")
        self._checks = list(checks)
        self._task: asyncio.Task[None] | None = None
        self.results: list[CheckResult | None] = [None] * len(self._checks)
        intro = QLabel(
            ("Welcome! Before your first meeting, this checks " if first_run else "This checks ")
            + "that the microphone gives sound, that system audio (the other participants) can be recorded "
            "and that the backend answers. Speak while it runs to see the microphone's level.")
        intro.setWordWrap(True)
        intro.setContentsMargins(0, 0, 0, 8)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(4)
        self._rows = [_Row(grid, i, title) for i, (title, _) in enumerate(self._checks)]
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.again_button = self.buttons.addButton("Check &again", QDialogButtonBox.ButtonRole.ActionRole)
        self.again_button.clicked.connect(self.run)
        self.settings_button = self.buttons.addButton("Open &Settings…",
                                                      QDialogButtonBox.ButtonRole.ActionRole)
        self.settings_button.clicked.connect(self.settings_requested)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(min(560, self.sizeHint().width()))
        self.resize(620, self.sizeHint().height() + 80)
        clamp_to_screen(self)

    def run(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self.results = [None] * len(self._checks)
        for row in self._rows:
            row.show(self, None)
        self._task = asyncio.ensure_future(self._run_all())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def done(self, result: int) -> None:  # Close, Escape: stop what still runs
        if self._task is not None:
            self._task.cancel()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._task is not None:
            self._task.cancel()
        super().closeEvent(event)

    async def _run_all(self) -> None:
        self.again_button.setEnabled(False)
        try:
            for index, (title, check) in enumerate(self._checks):
                self._rows[index].show(self, None, busy=True)
                try:
                    result = await check()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug in a check: say so in its row, go on with the others
                    log.exception("check %s failed", title)
                    result = CheckResult(CheckState.FAILED, f"The check itself failed: {exc}", "See the log.")
                self.results[index] = result
                self._rows[index].show(self, result)
            self.finished_checks.emit(list(self.results))
        finally:
            self.again_button.setEnabled(True)

    def texts(self) -> list[tuple[str, str, str]]:
        """(state, detail, fix) per row, as shown."""
        return [(r.state.text(), r.detail.text(), r.fix.text()) for r in self._rows]
