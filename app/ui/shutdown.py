"""Feedback while quitting: stopping a session flushes the last audio and waits for the backend's
final summary (up to a minute, CONTRACT 4.3), then the meeting is saved; the window stays up and, if
the wait lasts, a small dialog says what is happening and offers "Quit now", which abandons the
summary and ends the session at once. Either way, what the meeting has so far is saved.

Runs on the Qt main thread / asyncio loop (qasync), as the first step of ``app.main``'s ordered shutdown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QProgressBar, QVBoxLayout, QWidget

from app.ui.controller import SessionController

SHOW_AFTER_MS = 400  # a stop that ends sooner needs no dialog (and must not flash one)


class ShutdownDialog(QDialog):
    """Emits ``quit_now`` on its button, Escape or the close box (the only other choice is to wait)."""

    quit_now = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shutdownDialog")
        self.setWindowTitle("Quitting EchoPanel Companion")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.message = QLabel("Finishing the meeting: sending the last audio, waiting for the summary…")
        self.message.setWordWrap(True)
        note = QLabel(
            "The backend writes the final summary after the last audio; this can take up to a minute. "
            "The meeting is saved in History either way."
        )
        note.setWordWrap(True)
        busy = QProgressBar()
        busy.setRange(0, 0)  # indeterminate: nobody knows how long the summary takes
        busy.setTextVisible(False)
        busy.setAccessibleName("Waiting for the summary")
        buttons = QDialogButtonBox()
        self.quit_button = buttons.addButton("&Quit now", QDialogButtonBox.ButtonRole.RejectRole)
        self.quit_button.setToolTip("Quit without waiting for the summary; the meeting so far is saved")
        buttons.rejected.connect(self.reject)
        self.rejected.connect(self.quit_now)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(note)
        layout.addWidget(busy)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)


async def finish_session(
    controller: SessionController, parent: QWidget | None, show_after_ms: int = SHOW_AFTER_MS,
    save: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """Stop the running session and wait for it to end (``controller.shutdown``), then ``save`` (the
    history's last commit). If that takes more than ``show_after_ms``, show a ``ShutdownDialog``; its
    "Quit now" aborts the summary wait (the save still happens). Returns whether the user chose to
    quit now."""
    if not controller.is_running():
        await controller.shutdown()
        if save is not None:
            await save()
        return False
    dialog = ShutdownDialog(parent)
    aborted = []
    dialog.quit_now.connect(lambda: aborted.append(True))
    dialog.quit_now.connect(controller.abort)
    timer = QTimer(dialog)
    timer.setSingleShot(True)
    timer.timeout.connect(dialog.show)
    timer.start(show_after_ms)
    try:
        await controller.shutdown()
        if save is not None:
            dialog.message.setText("Saving the meeting…")
            dialog.quit_button.setEnabled(False)
            await save()
    finally:
        timer.stop()
        dialog.hide()
        dialog.deleteLater()
    return bool(aborted)
