"""Settings' "Test connection": a button and the result under it. The check itself is an injected
coroutine (``app.ui.checks.Checker.test_backend``) run on the asyncio loop, so the dialog stays live;
editing the address or closing the dialog cancels it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from app.core.check_result import CheckResult, CheckState

BackendTester = Callable[[str, str], Awaitable[CheckResult]]  # (url, "" = built-in; token) -> result
MARKS = {CheckState.OK: "✔", CheckState.WARNING: "⚠", CheckState.FAILED: "✖"}


class ConnectionTest:
    """``button`` and ``result`` go into the dialog's layout; ``run(url, token)`` tests."""

    def __init__(self, tester: BackendTester | None, parent: QWidget) -> None:
        self._tester = tester
        self._task: asyncio.Task[None] | None = None
        self.button = QPushButton("&Test connection", parent)
        self.button.setToolTip("Ask the backend's /health, check the token and the streaming handshake")
        self.button.setVisible(tester is not None)
        self.result = QLabel(parent)
        self.result.setObjectName("testResult")
        self.result.setWordWrap(True)
        self.result.setVisible(False)

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def run(self, url: str, token: str) -> None:
        if self._tester is not None and not self.busy:
            self._task = asyncio.ensure_future(self._run(self._tester(url, token)))

    def reset(self, allowed: bool) -> None:
        """The address changed: forget the last result; the button works only for a valid address."""
        self.cancel()
        self.button.setEnabled(allowed)
        self._show("")

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self, check: Awaitable[CheckResult]) -> None:
        self.button.setEnabled(False)
        self._show("Testing…")
        try:
            result = await check
        finally:
            self.button.setEnabled(True)
        fix = f"\nWhat to do: {result.fix}" if result.fix else ""
        self._show(f"{MARKS[result.state]} {result.summary}{fix}")

    def _show(self, text: str) -> None:
        self.result.setText(text)
        self.result.setVisible(bool(text))
