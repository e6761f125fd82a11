"""One streaming session: health check, capture -> client buffers -> paced sends, reconnects, stop.

Execution contexts (STYLE guideline 1): audio callbacks live inside the sources and only copy; this
module runs entirely on the asyncio event-loop thread (no Qt: the UI wraps it); payloads large enough
to matter are decoded in an executor by the transport. Nothing here blocks the loop.

Lifecycle: ``run()`` = CHECKING (``/health``; unreachable or not ready is retried with the reconnect
policy) -> sources start (audio captured before the ack waits in the client buffer) -> CONNECTING
(new attempt_id + connection_id, same session_id) -> STREAMING -> on a retryable loss RECONNECTING
with capped, jittered backoff, audio still buffering; a terminal error (auth, protocol) ends the
session FAILED without a retry. ``stop()`` -> STOPPING: the sources' tails are read and every unsent
frame (throttling's hold included) is sent at the catch-up rate BEFORE ``stop``, within a budget
(``flush_timeout`` at most; what misses it is counted and reported, and ``stop`` is sent all the
same); then the final summary is awaited (``summary_timeout``) and MERGED into the transcript, which
keeps every earlier connection's segments rebased to session time. If the socket is down at stop
time, nothing is waited for. Consumers poll ``snapshot()`` (immutable) and/or listen to ``SessionEvent``s.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import uuid
from collections.abc import Callable, Sequence

from app.capture.source import AudioSource
from app.core.framing import Frame
from app.core.messages import ClientFeatures, MetricsEvent, ServerEvent, StartMessage
from app.core.reconnect import AttemptCounter, Retry, classify, fixed_in_settings
from app.core.session_state import (
    ConnectionState,
    Reconnecting,
    SessionEnded,
    SessionSnapshot,
    StopOutcome,
)
from app.errors import ConnectionFailedError, EchoPanelError
from app.session.config import SessionConfig
from app.session.intake import Intake
from app.session.model import Listener, SessionModel
from app.session.pipeline import Sender, SourcePipe
from app.session.readiness import await_ready
from app.session.stopping import finish
from app.session.ticker import Ticker
from app.session.waits import best_effort, first, within
from app.transport.connection import LiveConnection, TransportConfig

log = logging.getLogger(__name__)
LEVEL_REFRESH_SECONDS = 0.25


class Session:
    """See the module docstring. One instance runs once."""

    def __init__(self, config: SessionConfig, sources: Sequence[AudioSource], *,
                 listener: Listener | None = None, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        if not sources:
            raise ValueError("a session needs at least one audio source")
        self.config = config
        self.session_id = str(uuid.uuid4())
        self._clock = clock
        self._rng = rng or random.Random()
        self._intake = Intake(sources, config.pipe, clock, config.throttle, tick_seconds=config.tick_seconds)
        self._pipes = self._intake.pipes
        self._policy = self._intake.policy
        self._sender = Sender(self._pipes, clock, self._on_sent, window=config.tick_seconds,
                              held_elsewhere=self._intake.held)
        self._model = SessionModel(self.session_id, clock, self._policy.time_map,
                                   on_level=self._policy.on_level)
        if listener is not None:
            self._model.listeners.append(listener)
        self._conn: LiveConnection | None = None
        self._stop_requested = asyncio.Event()
        self._summary_arrived = asyncio.Event()
        self._ended: SessionEnded | None = None
        self._task: asyncio.Task[SessionEnded] | None = None
        self._crash: BaseException | None = None
        self._sender_task: asyncio.Task[bool] | None = None
        self._next_level = -math.inf  # when the tick next refreshes the backpressure level

    # ------------------------------------------------------------------ public interface

    def add_listener(self, listener: Listener) -> None:
        self._model.listeners.append(listener)

    def snapshot(self) -> SessionSnapshot:
        state = self._policy.state()
        return self._model.snapshot(self._intake.counters(state), state.text)

    @property
    def ended(self) -> SessionEnded | None:
        """The end event once the session has ended, else ``None``."""
        return self._ended

    @property
    def throttle(self) -> bool:
        return self._policy.enabled

    def set_throttle(self, enabled: bool) -> None:
        """Live setter: no frame is lost or duplicated by the switch (switched off, what throttling
        held is sent at the catch-up rate). Announced to the server (``client_vad_enabled``) from the
        next connection on."""
        self._intake.set_throttle(enabled)
        self._model.note_throttle(self._policy.state(), force=True)

    def start(self) -> asyncio.Task[SessionEnded]:
        """Run in a task on the current loop; returns it (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"session-{self.session_id[:8]}")
        return self._task

    def request_stop(self) -> None:
        """Ask for a graceful stop (flush, ``stop``, summary); safe from signal handlers on the loop."""
        self._stop_requested.set()
        self._sender.wake()

    async def stop(self) -> SessionEnded:
        """Stop gracefully and wait for the end."""
        self.request_stop()
        if self._ended is not None:
            return self._ended
        return await self.start()

    async def run(self) -> SessionEnded:
        if self._ended is not None:
            raise RuntimeError("a Session runs once")
        self._model.t0 = self._clock()
        ticker: Ticker | None = None
        outcome, message = StopOutcome.FAILED, ""
        try:
            if self.config.health_check:
                await await_ready(self.config, self._rng, self._stop_requested, self._set_state)
            if self._stop_requested.is_set():  # stopped while checking: no need to open any device
                outcome, message = StopOutcome.NO_SUMMARY, "Stopped before streaming began."
            else:
                await self._intake.start(self._warn)
                ticker = Ticker(self.config.tick_seconds, self._tick, self._clock, self._on_tick_failed)
                ticker.start()
                outcome, message = await self._connection_loop()
            if self._crash is not None:  # a bug in the tick path: say so instead of a quiet partial run
                outcome, message = StopOutcome.FAILED, f"Internal error: {self._crash!r} (see the log)."
                self._model.fail(message, True)
        except EchoPanelError as exc:
            message = str(exc)
            self._model.fail(message, classify(exc) is Retry.TERMINAL, fixed_in_settings(exc))
        except asyncio.CancelledError:
            outcome, message = StopOutcome.CANCELLED, "The session was cancelled."
            raise
        except Exception as exc:  # a bug: end FAILED with a message rather than leave the caller hanging
            log.exception("session failed unexpectedly")
            message = f"Internal error: {exc!r} (see the log)."
            self._model.fail(message, True)
        finally:
            await self._shutdown(ticker)
            self._finish_state(outcome, message)
        assert self._ended is not None
        return self._ended

    def _on_tick_failed(self, exc: Exception) -> None:
        self._crash = exc
        log.error("the session tick failed", exc_info=exc)
        self.request_stop()  # the flush cannot complete without the tick: it ends by its budget

    # ------------------------------------------------------------------ lifecycle

    async def _connection_loop(self) -> tuple[StopOutcome, str]:
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
            sender = self._sender_task = asyncio.create_task(self._sender.send_frames(conn), name="sender")
            await first(conn.ended, self._stop_requested.wait())
            if self._stop_requested.is_set() and conn.is_open:
                return await finish(conn, sender, config=self.config, intake=self._intake,
                                    sender=self._sender, model=self._model, clock=self._clock)
            await self._end_connection(conn, sender)
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
        self._model.new_connection()  # only acknowledged connections get a transcript timeline
        self._policy.new_connection()
        return self._conn

    async def _back_off(self, counter: AttemptCounter, error: EchoPanelError) -> None:
        """Wait before the next attempt, or raise ``error`` if it is terminal or attempts ran out."""
        if classify(error) is Retry.TERMINAL:
            raise error
        delay = counter.next_delay()
        if delay is None:
            raise ConnectionFailedError(f"Gave up after {counter.attempt} reconnect attempts: {error}")
        self._model.reconnects = counter.total
        limit = self.config.reconnect.max_attempts
        self._set_state(ConnectionState.RECONNECTING,
                        f"Reconnecting in {delay:.1f} s (attempt {counter.attempt} of {limit}): {error}")
        self._model.emit(Reconnecting(self._model.elapsed(), counter.attempt, delay, str(error)))
        await within(self._stop_requested.wait(), delay)

    async def _end_connection(self, conn: LiveConnection, sender: asyncio.Task[bool]) -> None:
        await conn.close()
        await sender  # returns promptly once the connection has ended; never cancelled mid-send

    async def _shutdown(self, ticker: Ticker | None) -> None:
        with best_effort("stopping the audio sources"):
            await self._intake.stop()
        if self._conn is not None:
            with best_effort("closing the connection"):
                await self._conn.close()
        if self._sender_task is not None:  # returns by itself once the connection is closed
            with best_effort("the sender task"):
                await self._sender_task
        if ticker is not None:
            ticker.cancel()
        self._intake.discard_rest()

    # ------------------------------------------------------------------ loop helpers

    def _tick(self, now: float) -> None:
        """Every tick: read captured frames, send what is due, watch the sources, refresh the level
        now and then."""
        self._intake.route(now, self._sender.flushing)
        self._sender.on_tick()  # every tick: the sender keeps no timers of its own
        all_done = self._intake.watch(self._warn)
        if all_done and self.config.stop_when_sources_finish and not self._stop_requested.is_set():
            log.info("every source has finished: stopping")
            self.request_stop()
        if now >= self._next_level:
            self._next_level = now + LEVEL_REFRESH_SECONDS
            self._model.refresh_level()
            self._model.note_throttle(self._policy.state())

    # ------------------------------------------------------------------ state

    def _on_sent(self, batch: list[tuple[SourcePipe, Frame]], now: float) -> None:
        """Every tick's frames written: counters, send lag, and the map from server time to capture time."""
        record_sent = self._policy.time_map.record_sent
        for pipe, frame in batch:
            pipe.note_sent(now - frame.capture_time)
            record_sent(frame)

    def _on_server_event(self, event: ServerEvent) -> None:
        if isinstance(event, MetricsEvent):
            self._policy.on_metrics(event)  # first: server drops shape the time map of the next final
        self._model.on_server_event(event)

    def _set_state(self, state: ConnectionState, detail: str = "") -> None:
        self._model.set_state(state, detail)

    def _warn(self, message: str) -> None:
        self._model.warn(message)

    def _finish_state(self, outcome: StopOutcome, message: str) -> None:
        failed = outcome is StopOutcome.FAILED
        self._set_state(ConnectionState.FAILED if failed else ConnectionState.STOPPED, message)
        m = self._model
        state = self._policy.state()
        m.note_throttle(state, force=True)  # the last word on throttling, if it changed since
        self._ended = SessionEnded(m.elapsed(), outcome, self._intake.counters(state),
                                   m.server_dropped_frames, m.reconnects, message)
        m.emit(self._ended)

