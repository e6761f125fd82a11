"""Keeps one meeting of the history in step with a running session: the front ends' one call site.

Event-loop thread (asyncio): ``attach`` adds the recorder as a session listener (and the audio tap
when the local recording is on) and starts a task that hands the recorder a snapshot once a second;
``finish`` stops it, saves the end and closes the recording (its file thread is joined in an
executor, so the loop never waits on the disk).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from app.core.framing import Frame
from app.core.session_state import SessionEnded, SessionEvent, SessionSnapshot
from app.history.audio import AudioRecorder
from app.history.recorder import MeetingRecorder
from app.history.records import MeetingInfo
from app.history.service import History

log = logging.getLogger(__name__)
SNAPSHOT_SECONDS = 1.0


class Recordable(Protocol):
    """What ``app.session.Session`` offers a recorder."""

    def snapshot(self) -> SessionSnapshot: ...

    def add_listener(self, listener: Callable[[SessionEvent], None]) -> None: ...

    def add_audio_tap(self, tap: Callable[[list[Frame]], None]) -> None: ...


class LiveMeeting:
    """One meeting, from Start (``History.begin``) to its end. ``record_audio``: the local recording."""

    def __init__(self, history: History, info: MeetingInfo, record_audio: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.history = history
        self.recorder: MeetingRecorder = history.begin(info)
        self._record_audio = record_audio
        self._clock = clock
        self._session: Recordable | None = None
        self._audio: AudioRecorder | None = None
        self._poller: asyncio.Task[None] | None = None

    @property
    def audio(self) -> AudioRecorder | None:
        return self._audio

    def attach(self, session: Recordable) -> None:
        """Call right before the session starts (its clock's start is taken now, for the audio offsets)."""
        self._session = session
        session.add_listener(self.recorder.on_event)
        if self._record_audio:
            started = self._clock()
            self._audio = self.history.recording(self.recorder, lambda: started)
            session.add_audio_tap(self._audio.tap)
        self._poller = asyncio.ensure_future(self._poll(session))

    async def finish(self, snapshot: SessionSnapshot | None = None, ended: SessionEnded | None = None,
                     message: str = "") -> None:
        """Save the end. ``snapshot`` defaults to the attached session's last one. Never raises."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        try:
            if snapshot is None and self._session is not None:
                snapshot = self._session.snapshot()
            if self._audio is not None:
                self.recorder.set_audio(self._audio.files())
            self.recorder.finish(snapshot, ended, message)  # first: a cancelled wait below loses nothing
            if self._audio is not None:
                await asyncio.get_running_loop().run_in_executor(None, self._audio.close)
        except Exception:  # the history must never turn a session's end into a crash
            log.exception("history: finishing the meeting failed")

    async def _poll(self, session: Recordable) -> None:
        while True:
            try:
                self.recorder.on_snapshot(session.snapshot())
            except Exception:
                log.exception("history: saving a snapshot failed")
            await asyncio.sleep(SNAPSHOT_SECONDS)
