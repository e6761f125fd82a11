"""The tray icon: colour AND shape follow the status light (the same glyphs as the lamp), the tooltip
says the light's label and reason (the same ``StatusView`` as the window), a menu with the window's own
actions, and a rate-limited notification when the light turns red (audio is being lost) or the
session fails.

Only built where ``QSystemTrayIcon.isSystemTrayAvailable()``; otherwise the window is the whole UI.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from app.core.status_report import IDLE_STATUS, Light
from app.ui.level_style import level_pixmap
from app.ui.status_view import StatusView, status_view

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


NOTIFY_TITLES = {Light.LOSING: "Losing audio", Light.FAILED: "Session failed"}


def light_icon(light: Light) -> QIcon:
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(level_pixmap(light, size))
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
        self._light: Light | None = None
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
        self.set_status(status_view(IDLE_STATUS))
        self.icon.show()

    def set_status(self, view: StatusView, notify: bool = True) -> None:
        """Icon and tooltip follow ``view``; turning red or failing notifies (if ``notify``, rate-limited)
        with the light's own words."""
        self.icon.setToolTip(view.tooltip())
        if view.light is self._light:
            return
        previous, self._light = self._light, view.light
        self.icon.setIcon(light_icon(view.light))
        self.notified = False
        title = NOTIFY_TITLES.get(view.light)
        if notify and title is not None and previous is not view.light and self._gate.allow():
            body = " ".join(part for part in (view.headline, view.detail) if part)
            self.icon.showMessage(title, body, QSystemTrayIcon.MessageIcon.Warning, 10_000)
            self.notified = True

    def tooltip(self) -> str:
        return self.icon.toolTip()

    def hide(self) -> None:
        self.icon.hide()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self._on_activated()
