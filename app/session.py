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
import contextlib
import logging
import math
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from app.capture_base import AudioSource
from app.core.framing import Frame
from app.core.messages import ClientFeatures, MetricsEvent, ServerEvent, StartMessage
from app.core.reconnect import AttemptCounter, Retry, classify
from app.core.session_state import (
    ConnectionState,
    Reconnecting,
    SessionEnded,
    SessionSnapshot,
    StopOutcome,
)
from app.errors import ConnectionFailedError, EchoPanelError
from app.session_config import SessionConfig
from app.session_intake import Intake, unsent_note
from app.session_model import Listener, SessionModel
from app.session_pipeline import Sender, SourcePipe, Ticker
from app.transport import LiveConnection, TransportConfig
from app.transport_health import check_health

log = logging.getLogger(__name__)
T = TypeVar("T")
LEVEL_REFRESH_SECONDS = 0.25
SENDER_GRACE_SECONDS = 5.0  # after giving up the flush: time for a write in progress to finish


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
        self._model = SessionModel(self.session_id, clock, to_capture=self._policy.to_capture_time,
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
                await self._check_health()
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
            self._model.fail(message, classify(exc) is Retry.TERMINAL)
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

    async def _check_health(self) -> None:
        """``/health`` until ready. A transient failure (unreachable; still loading after
        ``health_wait_seconds``) is retried with the reconnect policy, so a restarting backend is
        waited for, boundedly; a terminal one (a refused token) raises at once."""
        cfg = self.config
        counter = AttemptCounter(cfg.reconnect, self._rng)

        def waiting(reason: str) -> None:
            self._set_state(ConnectionState.CHECKING, f"Backend not ready: {reason}")

        while not self._stop_requested.is_set():
            self._set_state(ConnectionState.CHECKING, f"Checking {cfg.endpoint.health_url}")
            try:
                await self._unless_stopped(check_health(
                    cfg.endpoint, cfg.token, wait_seconds=cfg.health_wait_seconds, on_wait=waiting))
                return
            except EchoPanelError as exc:
                if classify(exc) is Retry.TERMINAL:
                    raise
                delay = counter.next_delay()
                if delay is None and counter.attempt == 0:
                    raise
                if delay is None:
                    raise ConnectionFailedError(f"Gave up after {counter.attempt} retries: {exc}") from None
                self._set_state(ConnectionState.CHECKING, f"Retrying in {delay:.1f} s "
                                f"(attempt {counter.attempt} of {cfg.reconnect.max_attempts}): {exc}")
                await self._wait(self._stop_requested.wait(), delay)

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
            await self._first(conn.ended, self._stop_requested.wait())
            if self._stop_requested.is_set() and conn.is_open:
                return await self._finish(conn, sender)
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
        await self._wait(self._stop_requested.wait(), delay)

    async def _finish(self, conn: LiveConnection, sender: asyncio.Task[bool]) -> tuple[StopOutcome, str]:
        """Flush what is unsent (throttling's hold included), send ``stop``, wait for the summary.

        The flush may take what the backlog needs at the backend's observed drain rate (see
        ``Intake.flush_seconds``), at most ``flush_timeout``. What is not sent by then is given up,
        counted and said so, and ``stop`` is still sent: the backend summarises what it got."""
        self._set_state(ConnectionState.STOPPING, "Sending the last audio")
        await self._intake.stop()
        self._sender.flushing = True
        self._intake.route(self._clock(), flushing=True)  # the tails and all held audio, into the send path
        self._sender.wake()
        budget = min(self.config.flush_timeout, self._intake.flush_seconds(self.config.pipe.catchup_rate))
        note, stuck = "", False
        if not await self._wait(sender, budget):
            note = unsent_note(self._intake.abandon())
            self._warn(note)
            self._sender.wake()  # it returns once its write in progress is done
            if stuck := not await self._wait(sender, SENDER_GRACE_SECONDS):
                await conn.close()  # the socket does not drain: close instead of cancelling a send midway
        if not await sender or not conn.is_open:
            await conn.close()
            why = ("The backend stopped taking audio while the last of it was sent" if stuck
                   else "The connection was lost while sending the last audio")
            return StopOutcome.NO_SUMMARY, f"{note} {why}: no summary.".lstrip()
        self._set_state(ConnectionState.STOPPING, "Waiting for the final summary")
        try:
            await conn.send_stop()
        except ConnectionFailedError as exc:
            return StopOutcome.NO_SUMMARY, f"{note} {exc} No summary.".lstrip()
        await self._first(self._model.summary_arrived.wait(), conn.ended, timeout=self.config.summary_timeout)
        lost = conn.ended.result() if conn.ended.done() else None  # before our own close below
        await conn.close()
        if self._model.summary is not None:
            return StopOutcome.SUMMARY, note
        if lost is not None:
            return StopOutcome.NO_SUMMARY, f"{note} No final summary: {lost} (transcript kept)".lstrip()
        waited = f"No final summary within {self.config.summary_timeout:g} s; the transcript so far is kept."
        return StopOutcome.NO_SUMMARY, f"{note} {waited}".lstrip()

    async def _end_connection(self, conn: LiveConnection, sender: asyncio.Task[bool]) -> None:
        await conn.close()
        await sender  # returns promptly once the connection has ended; never cancelled mid-send

    async def _shutdown(self, ticker: Ticker | None) -> None:
        with contextlib.suppress(Exception):
            await self._intake.stop()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        if self._sender_task is not None:  # returns by itself once the connection is closed
            with contextlib.suppress(Exception):
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

    async def _unless_stopped(self, coro: Coroutine[Any, Any, T]) -> T | None:
        task = asyncio.ensure_future(coro)
        await self._first(task, self._stop_requested.wait())
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return None
        return task.result()

    @staticmethod
    async def _wait(aw: Any, timeout: float) -> bool:
        """Whether ``aw`` finished within ``timeout``; a coroutine that did not is cancelled, a task
        is left running."""
        task = asyncio.ensure_future(aw)
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done and task is not aw:
            task.cancel()
        return bool(done)

    @staticmethod
    async def _first(*aws: Any, timeout: float | None = None) -> None:
        """Wait until the first of these futures/coroutines is done (or the timeout); cancel the helpers."""
        tasks = [asyncio.ensure_future(a) for a in aws]
        try:
            await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t, a in zip(tasks, aws, strict=True):
                if t is not a and not t.done():
                    t.cancel()

    # ------------------------------------------------------------------ state

    def _on_sent(self, batch: list[tuple[SourcePipe, Frame]], now: float) -> None:
        """Every batch written: counters, send lag, and both maps from server time to capture time."""
        note_sent, record_sent = self._model.note_sent, self._policy.time_map.record_sent
        for pipe, frame in batch:
            pipe.note_sent(now - frame.capture_time)
            note_sent(frame)
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

