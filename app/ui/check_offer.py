"""The audio and backend check as the app offers it: by itself the first time the app runs on this
computer (remembered in the settings file), and from Help > Check audio and backend; one dialog at a
time. The checks run against the settings and token current when the dialog opens
(``app.ui.checks.Checker``); the dialog itself is ``app.ui.check_dialog.CheckDialog``. Qt main thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from app.core.settings import Settings
from app.ui.check_dialog import CheckDialog
from app.ui.checks import Checker
from app.ui.settings_store import SettingsStore
from app.ui.window import MainWindow

FIRST_RUN_KEY = "first_run_checked"


class CheckOffer(QObject):
    def __init__(self, window: MainWindow, store: SettingsStore, checker: Checker | None,
                 settings: Callable[[], Settings], token: Callable[[], str],
                 open_settings: Callable[[], None]) -> None:
        super().__init__(window)
        self.window = window
        self._store = store
        self._checker = checker
        self._settings = settings
        self._token = token
        self._open_settings = open_settings
        self._check: CheckDialog | None = None
        window.check_requested.connect(lambda: self.open_check(first_run=False))

    def first_run(self) -> bool:
        """At start-up: open the check if it never ran on this computer. Returns whether it opened."""
        if self._checker is None or self._store.ui_value(FIRST_RUN_KEY):
            return False
        self.open_check(first_run=True)
        return True

    def open_check(self, first_run: bool = False) -> None:
        if self._check is not None:
            self._check.raise_()
            return
        if self._checker is None:
            return
        dialog = CheckDialog(self._checker.checks(self._settings(), self._token()), self.window, first_run)
        dialog.settings_requested.connect(self._open_settings)
        dialog.finished.connect(self._check_closed)
        self._check = dialog
        self._store.set_ui_value(FIRST_RUN_KEY, "1")
        dialog.open()
        dialog.run()

    def check_dialog(self) -> CheckDialog | None:
        return self._check

    def _check_closed(self) -> None:
        if self._check is not None:
            self._check.deleteLater()
        self._check = None
