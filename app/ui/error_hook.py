"""Last-resort error reporting: ``sys.excepthook`` and the asyncio loop's exception handler.

Every unhandled exception is logged with its traceback (to the log file) and reported to the user
in a dialog WITHOUT traceback text: the app's own ``EchoPanelError`` text when it is one (it says
what to do), a generic line otherwise, plus where the log file is. At most one dialog is open at a
time; errors arriving while it is open are logged and counted, not stacked.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from app.errors import EchoPanelError

log = logging.getLogger("app.crash")

ParentProvider = Callable[[], QWidget | None]


def user_text(exc: BaseException | None, log_path: Path | None) -> str:
    """What the dialog says: never a traceback, always where the details are."""
    if isinstance(exc, EchoPanelError) and str(exc):
        head = str(exc)
    else:
        kind = type(exc).__name__ if exc is not None else "error"
        head = (
            f"Something went wrong inside EchoPanel Companion ({kind}). The app keeps running; "
            "if something stops working, stop and start the session or restart the app."
        )
    where = f"Details are in the log file: {log_path}" if log_path else "Details are in the log."
    return f"{head}\n\n{where}"


class ErrorReporter:
    """Install with ``install()`` (and ``install_loop(loop)`` once the asyncio loop exists)."""

    def __init__(self, log_path: Path | None, parent: ParentProvider = lambda: None) -> None:
        self._log_path = log_path
        self._parent = parent
        self._dialog: QMessageBox | None = None
        self.suppressed = 0  # errors that arrived while a dialog was open
        self._previous_hook = sys.excepthook

    def install(self) -> None:
        sys.excepthook = self.excepthook

    def uninstall(self) -> None:
        sys.excepthook = self._previous_hook

    def install_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.set_exception_handler(self.loop_exception)

    def excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._previous_hook(exc_type, exc, tb)
            return
        log.error("unhandled exception", exc_info=(exc_type, exc, tb))
        self.report(exc)

    def loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = context.get("message", "asyncio error")
        if isinstance(exc, BaseException):
            log.error("unhandled exception in asyncio: %s", message, exc_info=exc)
        else:
            log.error("asyncio error: %s", message)
        self.report(exc if isinstance(exc, BaseException) else None)

    def report(self, exc: BaseException | None) -> None:
        """Show the dialog unless one is already open."""
        if self._dialog is not None:
            self.suppressed += 1
            return
        box = QMessageBox(self._parent())
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("EchoPanel Companion — error")
        box.setText(user_text(exc, self._log_path))
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.finished.connect(self._closed)
        self._dialog = box
        box.open()  # not exec(): no nested event loop under qasync

    def dialog(self) -> QMessageBox | None:
        return self._dialog

    def _closed(self, _result: int) -> None:
        if self._dialog is not None:
            self._dialog.deleteLater()
        self._dialog = None
