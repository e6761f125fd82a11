"""The session's connections, one after another: open (a new attempt_id and connection_id, the same
session_id), stream until the connection ends or stop is asked (then the stop sequence,
``app.session.stopping``), hand what the server may not have consumed over to the next connection
(``app.session.handover``), back off (capped, jittered; ``app.session.readiness``) and open again; a
terminal error ends the loop. Owns the current connection, its sender task and its ``ServerView``
(the current, or last, connection's view of the server side), and routes the server's events to it.

Event-loop thread only, no Qt. ``app.session.lifecycle.Session`` makes one and runs it once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable

from app.core.flow import FlowConfig
from app.core.framing import Frame
from app.core.messages import ClientFeatures, ServerEvent, StartMessage, TranscriptEvent
from app.core.reconnect import AttemptCounter
from app.core.server_view import ServerView
from app.core.session_state import ConnectionState, Reconnecting, StopOutcome
from app.core.throttle import ThrottlePolicy
from app.errors import ConnectionFailedError, EchoPanelError
from app.session.config import SessionConfig
from app.session.handover import hand_over
from app.session.intake import Intake
from app.session.model import SessionModel
from app.session.pipeline import Sender
from app.session.readiness import back_off
from app.session.stopping import finish
from app.session.waits import best_effort, first
from app.transport.connection import LiveConnection, TransportConfig

log = logging.getLogger(__name__)


class Connections:
    """See the module docstring. The collaborators are the session's own (shared, not copied)."""

    def __init__(self, session_id: str, config: SessionConfig, *, intake: Intake, sender: Sender,
                 model: SessionModel, policy: ThrottlePolicy, clock: Callable[[], float], rng: random.Random,
                 stop_requested: asyncio.Event) -> None:
        self.session_id = session_id
        self.config = config
        self._intake = intake
        self._sender = sender
        self._model = model
        self._policy = policy
        self._clock = clock
        self._rng = rng
        self._stop_requested = stop_requested
        self._conn: LiveConnection | None = None
        self._view: ServerView[Frame] | None = None  # the current (or last) connection's
        self._sender_task: asyncio.Task[bool] | None = None

    @property
    def view(self) -> ServerView[Frame] | None:
        """The current (or last) connection's view of the server side; ``None`` before the first."""
        return self._view

    @property
    def conn(self) -> LiveConnection | None:
        """The current (or last) connection; ``None`` before the first opened."""
        return self._conn

    async def run(self) -> tuple[StopOutcome, str]:
        """Until the session stops (the stop sequence on an open connection, or none) or a terminal error."""
        counter = AttemptCounter(self.config.reconnect, self._rng)
        while True:
            if self._stop_requested.is_set():
                return StopOutcome.NO_SUMMARY, "Stopped while not connected: no summary (transcript kept)."
            self._set_state(ConnectionState.CONNECTING, f"Connecting to {self.config.endpoint.ws_url}")
            try:
                conn = await self._open_connection()
            except EchoPanelError as exc:
                await self._back_off(counter, exc)
                continue
            began = self._clock()
            self._set_state(ConnectionState.STREAMING, f"Streaming to {self.config.endpoint.ws_url}")
            view = self._view
            assert view is not None
            sender = self._sender_task = asyncio.create_task(
                self._sender.send_frames(conn, view, self._intake.drained), name="sender")
            await first(conn.ended, self._stop_requested.wait(), sender)
            if sender.done() and (crash := sender.exception()) is not None:  # a bug, not the network
                await conn.close()
                raise RuntimeError(f"the audio sender failed: {crash!r}") from crash
            if self._stop_requested.is_set() and conn.is_open:
                return await finish(conn, sender, config=self.config, intake=self._intake, view=view,
                                    sender=self._sender, model=self._model, clock=self._clock)
            await self._end_connection(conn, sender)
            again = hand_over(view, self._intake, self._model.losses)
            log.info("connection ended: %d frames go again on the next one", again)
            counter.connection_streamed(self._clock() - began)
            error = conn.ended.result() or ConnectionFailedError("The backend closed the connection.")
            if self._stop_requested.is_set():
                return StopOutcome.NO_SUMMARY, f"{error} The connection was lost at stop: no summary."
            await self._back_off(counter, error)

    async def _open_connection(self) -> LiveConnection:
        start = StartMessage(self.session_id, str(uuid.uuid4()), str(uuid.uuid4()),
                             ClientFeatures(client_vad_enabled=self._policy.enabled))
        tcfg = TransportConfig(self.config.endpoint, self.config.token, self.config.binary_audio,
                               ack_timeout=self.config.ack_timeout)
        self._conn = await LiveConnection.open(tcfg, start, self._on_server_event)
        known = self._view is not None and self._view.reports_load  # the backend reported its load before
        self._view = ServerView(FlowConfig(tick_seconds=self.config.tick_seconds), self._clock(),
                                reports_load=known)
        self._model.new_connection(self._view)  # only acknowledged connections get a transcript timeline
        return self._conn

    async def _back_off(self, counter: AttemptCounter, error: EchoPanelError) -> None:
        def announce(attempt: int, delay: float) -> None:
            self._model.reconnects = counter.outages  # not attempts: one outage took 12 on the real server
            self._model.emit(Reconnecting(self._model.elapsed(), attempt, delay, str(error)))

        await back_off(counter, error, limit=self.config.reconnect.max_attempts, stop=self._stop_requested,
                       set_state=self._set_state, announce=announce)

    async def _end_connection(self, conn: LiveConnection, sender: asyncio.Task[bool]) -> None:
        await conn.close()
        await sender  # returns promptly once the connection has ended; never cancelled mid-send

    async def close(self) -> None:
        """At the session's end: close the connection (if any) and wait for its sender."""
        if self._conn is not None:
            with best_effort("closing the connection"):
                await self._conn.close()
        if self._sender_task is not None:  # returns by itself once the connection is closed
            with best_effort("the sender task"):
                await self._sender_task

    def _on_server_event(self, event: ServerEvent) -> None:
        """First the view (a final must be in the mirror before the model maps its times). A final
        wakes the sender: the recognizer is pulling its next chunk now, not at the next tick."""
        if self._view is not None:
            self._view.on_event(event, self._clock())
            if isinstance(event, TranscriptEvent) and event.is_final:
                self._sender.wake()
        self._model.on_server_event(event)

    def _set_state(self, state: ConnectionState, detail: str = "") -> None:
        self._model.set_state(state, detail)
