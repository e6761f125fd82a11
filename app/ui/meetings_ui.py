"""The window's meeting features, wired: File > Export / Copy transcript for the current meeting, the
History tab (through ``HistoryPresenter``), retention (applied at start-up and when changed), and
the messages that say a meeting was saved or recovered. Qt main thread; the history's blocking
work runs on its writer thread or in executors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject

from app.core.settings import Settings
from app.history import History, HistoryError
from app.history.service import Recovery
from app.ui.controller import SessionController
from app.ui.exporting import Exporter, UiState
from app.ui.history_presenter import HistoryPresenter
from app.ui.message_bar import Severity
from app.ui.window import MainWindow

log = logging.getLogger(__name__)


def retention_text(settings: Settings) -> str:
    keep = ("Meetings are kept until you delete them." if settings.history_keep_days <= 0
            else f"Meetings older than {settings.history_keep_days} days are deleted.")
    audio = " Their audio is recorded too." if settings.record_audio else ""
    return keep + audio


class MeetingsUi(QObject):
    def __init__(self, window: MainWindow, controller: SessionController, state: UiState,
                 history: History | None, open_settings: Callable[[str], None],
                 unavailable: str = "") -> None:
        super().__init__(window)
        self.window = window
        self.history = history
        self.exporter = Exporter(state, window)
        self.exporter.message.connect(
            lambda text, error: window.show_message(text, Severity.ERROR if error else Severity.INFO))
        window.export_requested.connect(lambda fmt: self.exporter.export(window.summary.document(), fmt))
        window.copy_transcript_requested.connect(
            lambda: self.exporter.copy_transcript(window.summary.document()))
        window.history.retention_requested.connect(lambda: open_settings("History"))
        self.presenter: HistoryPresenter | None = None
        self._keep_days: int | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self._problems = 0  # the writer's dropped and failed writes already reported
        if history is None:
            window.history.setEnabled(False)
            window.history.set_retention_text(unavailable or "The meeting history is not available.")
            if unavailable:
                window.show_message(unavailable, Severity.WARNING)
            return
        self.presenter = HistoryPresenter(history, window.history, self.exporter, window)
        self.presenter.message.connect(window.show_message)
        controller.running_changed.connect(self._running_changed)

    def start(self, settings: Settings, recovered: list[Recovery]) -> None:
        """At start-up: retention, the list, and a word about meetings recovered after a crash."""
        self.settings_changed(settings)
        if recovered:
            n = len(recovered)
            self.window.show_message(
                f"{n} meeting{'s were' if n > 1 else ' was'} interrupted when the app stopped unexpectedly "
                f"and {'have' if n > 1 else 'has'} been recovered: see the History tab.", Severity.WARNING)

    def settings_changed(self, settings: Settings) -> None:
        self.window.history.set_retention_text(retention_text(settings))
        if self.history is None or settings.history_keep_days == self._keep_days:
            return
        self._keep_days = settings.history_keep_days
        self._spawn(self._retain(settings.history_keep_days))

    async def _retain(self, keep_days: int) -> None:
        assert self.history is not None
        try:
            deleted = await asyncio.wrap_future(self.history.apply_retention(keep_days))
        except HistoryError as exc:
            self.window.show_message(f"Old meetings could not be deleted: {exc}", Severity.WARNING)
            deleted = 0
        if deleted:
            log.info("retention: deleted %d meetings older than %d days", deleted, keep_days)
        if self.presenter is not None:
            await self.presenter.load("")

    def _running_changed(self, running: bool) -> None:
        self._spawn(self._refresh_after_writes())  # the new meeting appears as "Recording…", then as it ended

    async def _refresh_after_writes(self) -> None:
        """Refresh once what the session queued so far is committed (the writer runs in order)."""
        if self.history is None or self.presenter is None:
            return
        await asyncio.sleep(0.2)  # the session task queues the meeting's first row as it begins
        writer = self.history.writer
        try:
            await asyncio.wrap_future(writer.call(lambda conn: None))
        except HistoryError:
            return
        await self.presenter.load(self.presenter.query)
        problems = writer.dropped + writer.failures
        if problems > self._problems:  # a full disk, a broken file: say so once per episode
            self._problems = problems
            self.window.show_message(f"Part of the meeting could not be saved to the history: "
                                     f"{writer.last_error or 'the disk did not keep up'}.", Severity.WARNING)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        if self.presenter is not None:
            self.presenter.close()
