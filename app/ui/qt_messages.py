"""Route Qt's own warnings into Python logging (the log file), instead of bare stderr lines.

Known harmless noise (e.g. the offscreen platform's "does not support propagateSizeHints") is
logged at DEBUG so a headless self-test prints only its own lines.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

log = logging.getLogger("qt")

NOISE = ("does not support propagateSizeHints",)
LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _handle(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    level = logging.DEBUG if any(n in message for n in NOISE) else LEVELS.get(kind, logging.WARNING)
    category = context.category or "default"
    log.log(level, "%s: %s", category, message)


def install() -> None:
    qInstallMessageHandler(_handle)
