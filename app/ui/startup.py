"""What the app's start-up leaves until its window is on screen, and how it knows when that is.

``when_on_screen(window, callback)`` runs ``callback`` once the window's first frame has been painted
(the window and its children, one paint pass), at the next turn of the event loop if the window is not
shown (the app started in the tray), and at the latest after ``FALLBACK_SECONDS``.

``after_first_frame(...)`` is that callback in the app: the first keyring read (finding the keyring
backend imports keyring, its plugins and SecretStorage) and the modules Start needs (the session,
capture and transport layers, numpy) run in executor threads; the audio device lists (starting
PortAudio, tens of milliseconds: ``load_devices``) are read on the UI thread, then ``--start`` or the
first-run check runs. The window's device pickers show the saved choices until the lists arrive.
``packaging/bundle.sh --measure`` times the start-up by the ``first-window-shown`` line printed here
when ``ECHOPANEL_REPORT_FIRST_SHOW`` is set.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

from app.ui.secrets import TokenStore
from app.ui.shell import DesktopShell

log = logging.getLogger(__name__)

FALLBACK_SECONDS = 2.0  # a shown window that is never painted (an unusual window manager) waits no longer
# What the first Start imports: loaded in the background once the window is up, so Start does not wait.
START_MODULES = ("app.session", "app.session.preflight", "app.capture.live", "app.history.live")


class _FirstPaint(QObject):
    """Watches ``window`` until its first paint event; the callback runs once, after that paint pass."""

    def __init__(self, window: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(window)  # owned by the window: lives as long as it watches
        self._window = window
        self._callback: Callable[[], None] | None = callback
        window.installEventFilter(self)
        QTimer.singleShot(round(FALLBACK_SECONDS * 1000), self, self.fire)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # a Qt override
        if event.type() == QEvent.Type.Paint:
            # The children paint in the same pass, after the window: run once the pass is done.
            QTimer.singleShot(0, self.fire)
        return False

    def fire(self) -> None:
        callback, self._callback = self._callback, None
        if callback is None:
            return
        self._window.removeEventFilter(self)
        self.deleteLater()
        callback()


def when_on_screen(window: QWidget, callback: Callable[[], None]) -> QObject:
    """Returns the watcher: keep it referenced until the callback ran."""
    watcher = _FirstPaint(window, callback)
    if not window.isVisible():
        QTimer.singleShot(0, watcher, watcher.fire)
    return watcher


def preload(modules: tuple[str, ...] = START_MODULES) -> None:
    """Import ``modules`` (in an executor thread); a failure is the first Start's to report, not ours."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            log.warning("could not preload %s: %s", name, exc)


def load_devices(shell: DesktopShell) -> None:
    """List the audio devices and offer them in the window's pickers (the current choices stay
    selected). The first listing starts PortAudio, which takes tens of milliseconds (more with a slow
    sound server): on the UI thread, before any check or session uses it from an executor thread
    (first started there, it was seen to stop the event loop's timers during the first-run check)."""
    shell.show_devices(shell.list_devices())


def after_first_frame(shell: DesktopShell, tokens: TokenStore, then: Callable[[], None],
                      report: bool = False) -> set[Any]:
    """The work the first window did not wait for, then ``then`` (``--start``, or the first-run check,
    which use the devices). Returns the executor futures (keep them referenced)."""
    if report:
        print("first-window-shown", file=sys.stderr, flush=True)
    loop = asyncio.get_running_loop()
    pending: set[Any] = {loop.run_in_executor(None, tokens.get)}  # finds and reads the keyring once
    load_devices(shell)  # on this thread: it starts PortAudio (see load_devices)
    then()
    loaded = loop.run_in_executor(None, preload)
    # As at start-up (app.main): long-lived modules out of the garbage collector's way.
    loaded.add_done_callback(lambda _: gc.freeze())
    pending.add(loaded)
    return pending
