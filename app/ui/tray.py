"""The tray icon: colour AND shape follow the level (the same glyphs as the lamp), a menu with the
window's own actions, and a rate-limited notification when the light turns red.

Only built where ``QSystemTrayIcon.isSystemTrayAvailable()``; otherwise the window is the whole UI.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from app.core.level import Level
from app.ui.level_style import level_pixmap, style_for

NOTIFY_MIN_INTERVAL_S = 120.0
ICON_SIZES = (16, 22, 24, 32, 48, 64)


class NotificationGate:
    """At most one notification per ``min_interval`` seconds (clock injected so tests step time)."""

    def __init__(
        self, min_interval: float = NOTIFY_MIN_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._min_interval = min_interval
        self._clock = clock
        self._last: float | None = None

    def allow(self) -> bool:
        now = self._clock()
        if self._last is not None and now - self._last < self._min_interval:
            return False
        self._last = now
        return True


def level_icon(level: Level) -> QIcon:
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(level_pixmap(level, size))
    return icon


class LevelTray:
    """Owns the ``QSystemTrayIcon``. ``actions`` are the window's (start/stop, show, throttling, quit)."""

    def __init__(
        self,
        actions: Iterable[QAction | None],
        on_activated: Callable[[], None],
        parent: QWidget | None = None,
        gate: NotificationGate | None = None,
    ) -> None:
        self._gate = gate or NotificationGate()
        self._level: Level | None = None
        self.notified = False  # whether the last level change showed a notification
        self.menu = QMenu(parent)
        for action in actions:
            if action is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(action)
        self.icon = QSystemTrayIcon(parent)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self._on_activated = on_activated
        self.set_level(Level.IDLE, "Not streaming")
        self.icon.show()

    def set_level(self, level: Level, reason: str, notify: bool = True) -> None:
        """Icon and tooltip follow ``level``; turning red notifies (if ``notify``, rate-limited)."""
        style = style_for(level)
        self.icon.setToolTip(f"EchoPanel Companion — {style.label}: {reason}")
        if level is self._level:
            return
        previous, self._level = self._level, level
        self.icon.setIcon(level_icon(level))
        self.notified = False
        if notify and level is Level.OVERLOADED and previous is not Level.OVERLOADED and self._gate.allow():
            self.icon.showMessage(
                "Backend overloaded",
                reason or "The backend is dropping audio.",
                QSystemTrayIcon.MessageIcon.Warning,
                10_000,
            )
            self.notified = True

    def hide(self) -> None:
        self.icon.hide()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self._on_activated()
