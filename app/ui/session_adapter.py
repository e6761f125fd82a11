"""Adapts ``app.session.Session`` to the controller's ``SessionHandle``, resolving the settings at
Start: the backend (starting the built-in one, off the UI thread, when it is chosen), the token (read
off the UI thread: a keyring read can be a D-Bus round trip), the endpoint, the audio sources and the
session config. Every Start is a new meeting in the history, from the press of the button (a session
that never connects is kept too, with why) to its end, however it ends (stopped, failed, cancelled by
"Quit now"). No Qt here.

The session itself (``app.session``, the capture and transport layers, numpy) is imported at the first
Start, not when the window is built (the app preloads it in the background once its window is shown).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from app.core.endpoint import insecure_token_warning, parse_endpoint, sends_token_in_clear
from app.core.session_state import ConnectionState, SessionSnapshot, SessionWarning
from app.core.settings import DeviceRef, Settings
from app.errors import EchoPanelError
from app.history import History, MeetingInfo, Origin
from app.ui.builtin import BuiltinBackend
from app.ui.session_handle import EventListener, SessionFactory, SessionHandle

if TYPE_CHECKING:
    from app.capture.source import AudioSource
    from app.history.live import LiveMeeting
    from app.session import Session

log = logging.getLogger(__name__)

BUILTIN_HEALTH_WAIT_SECONDS = 90.0  # the built-in recognizer may still be loading its model

SourcesFactory = Callable[[Settings], Sequence["AudioSource"]]
HistoryLookup = Callable[[], History | None]


def live_sources(settings: Settings) -> list[AudioSource]:
    """Live capture for the chosen sources and devices (PortAudio is loaded only here)."""
    from app.capture.live import LiveSource
    from app.core.devices import DeviceKey
    from app.core.messages import Source

    def key(ref: DeviceRef | None) -> DeviceKey | None:
        return DeviceKey(ref.name, ref.host_api) if ref is not None else None

    devices = {Source.MIC: key(settings.mic_device), Source.SYSTEM: key(settings.system_device)}
    return [LiveSource(source, devices[source]) for source in settings.sources.sources]


class AppSession:
    """One Start..Stop. ``run()`` resolves the settings, then runs the real session to its end."""

    def __init__(
        self,
        settings: Settings,
        token: Callable[[], str],
        listener: EventListener,
        builtin: BuiltinBackend,
        sources: SourcesFactory,
        history: History | None = None,
    ) -> None:
        self._settings = settings
        self._history = history
        self._token = token  # blocking (the keyring): called in an executor
        self._listener = listener
        self._builtin = builtin
        self._sources = sources
        self._throttle = settings.adaptive_throttling
        self._session: Session | None = None
        self._tick_listeners: list[Callable[[], None]] = []
        self._stop_requested = False
        self._before = SessionSnapshot(state=ConnectionState.CHECKING, detail="Preparing the session")

    def snapshot(self) -> SessionSnapshot:
        return self._session.snapshot() if self._session is not None else self._before

    def add_tick_listener(self, listener: Callable[[], None]) -> None:
        """``Session.add_tick_listener``, for the session about to be created as well."""
        self._tick_listeners.append(listener)
        if self._session is not None:
            self._session.add_tick_listener(listener)

    def set_throttling(self, enabled: bool) -> None:
        self._throttle = enabled
        if self._session is not None:
            self._session.set_throttle(enabled)

    async def run(self) -> None:
        meeting = self._begin_meeting()
        try:
            await self._run(meeting)
        finally:  # also on "Quit now" (cancelled): what there is gets saved
            if meeting is not None:
                ended = self._session.ended if self._session is not None else None
                await meeting.finish(self.snapshot(), ended, self._before.error or "")

    async def _run(self, meeting: LiveMeeting | None) -> None:
        try:
            session = await self._prepare()
        except EchoPanelError as exc:
            self._before = SessionSnapshot(state=ConnectionState.FAILED, detail=str(exc), error=str(exc))
            raise
        if session is None:  # stopped before it began
            self._before = SessionSnapshot(state=ConnectionState.STOPPED, detail="Stopped before streaming")
            return
        self._session = session
        for listener in self._tick_listeners:
            session.add_tick_listener(listener)
        if meeting is not None:
            meeting.attach(session)
        await session.start()  # start(), not run(): Session.stop() awaits that same task

    def _begin_meeting(self) -> LiveMeeting | None:
        if self._history is None:
            return None
        from app.history.live import LiveMeeting

        settings = self._settings
        backend = "Built-in backend" if settings.uses_builtin_backend else settings.backend_url
        sources = tuple(s.value for s in settings.sources.sources)
        try:
            return LiveMeeting(self._history, MeetingInfo(time.time(), Origin.WINDOW, backend, sources),
                               record_audio=settings.record_audio)
        except Exception:  # the meeting is not kept, but the session runs
            log.exception("history: could not begin the meeting")
            return None

    async def stop(self) -> None:
        self._stop_requested = True
        if self._session is not None:
            await self._session.stop()

    async def _prepare(self) -> Session | None:
        from app.session import Session, SessionConfig

        settings = self._settings
        loop = asyncio.get_running_loop()
        health_wait = 30.0
        token = await loop.run_in_executor(None, self._token)
        if settings.uses_builtin_backend:
            self._before = dataclasses.replace(self._before, detail="Starting the built-in backend")
            url, token = await loop.run_in_executor(None, self._builtin.ensure_started)
            health_wait = BUILTIN_HEALTH_WAIT_SECONDS
        else:
            url = settings.backend_url
        endpoint = parse_endpoint(url)
        if self._stop_requested:
            return None
        config = dataclasses.replace(
            SessionConfig.from_settings(settings, endpoint, token),
            throttle=self._throttle,
            health_wait_seconds=health_wait,
        )
        if sends_token_in_clear(endpoint, token):  # only when allowed: the config refuses otherwise
            log.warning("%s", insecure_token_warning(endpoint))
            self._listener(SessionWarning(0.0, insecure_token_warning(endpoint)))
        sources = list(self._sources(settings))
        log.info("starting a session: %s, sources %s", endpoint.ws_url, [s.source.value for s in sources])
        return Session(config, sources, listener=self._listener)


def session_factory(
    settings: Callable[[], Settings],
    token: Callable[[], str],
    builtin: BuiltinBackend,
    sources: SourcesFactory = live_sources,
    history: HistoryLookup = lambda: None,
) -> SessionFactory:
    """What ``SessionController`` calls on Start: reads the current settings then, and the token
    (``token``, which may block on the keyring) in an executor when the session runs."""

    def make(listener: EventListener) -> SessionHandle:
        return AppSession(settings(), token, listener, builtin, sources, history())

    return make
