"""``VisibilityWatch``: tells a callback whether a window can be seen (shown and not minimized),
each time that changes, so that what only paints for the eye (the ~30 Hz poll of meters and chart)
stops while the window is in the tray or minimized.

An event filter on the window (Show, Hide, WindowStateChange), so the window itself needs no hook.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QWidget

WATCHED = (QEvent.Type.Show, QEvent.Type.Hide, QEvent.Type.WindowStateChange)


def can_be_seen(window: QWidget) -> bool:
    return window.isVisible() and not (window.windowState() & Qt.WindowState.WindowMinimized)


class VisibilityWatch(QObject):
    def __init__(self, window: QWidget, changed: Callable[[bool], None]) -> None:
        super().__init__(window)
        self._window = window
        self._changed = changed
        self._seen: bool | None = None
        window.installEventFilter(self)
        self._update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # a Qt override
        if watched is self._window and event.type() in WATCHED:
            self._update()
        return False

    def _update(self) -> None:
        seen = can_be_seen(self._window)
        if seen != self._seen:
            self._seen = seen
            self._changed(seen)
