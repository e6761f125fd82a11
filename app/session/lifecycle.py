"""One streaming session: health check, capture -> holds -> sends at the backend's pace, reconnects, stop.

Event-loop thread only (no Qt: the UI wraps it); audio callbacks live in the sources and only copy;
large payloads are decoded in an executor by the transport. Nothing here blocks the loop.

``run()`` = CHECKING (``/health``, retried with the reconnect policy) -> sources start (audio waits in
the holds) -> the connections, one after another (``app.session.connections``): CONNECTING (new
attempt_id + connection_id, same session_id) -> STREAMING -> on a retryable loss RECONNECTING with
capped, jittered backoff, handing what the server may not have consumed over to the next connection
(``app.session.handover``); a terminal error ends it FAILED. This module owns the public interface,
the run from start to end, the tick (routing captured frames, the sender's cadence, the level) and
the end (``SessionEnded``).
``stop()`` -> STOPPING (``app.session.stopping``): the tails and everything held go at the backend's
pace BEFORE ``stop``, within a budget; the final summary is awaited and MERGED into the transcript,
which keeps every connection's segments in session time. Consumers poll ``snapshot()`` and/or listen
to ``SessionEvent``s; every loss is counted and located (``app.session.losses``).
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
from app.core.losses import LossCause
from app.core.reconnect import Retry, classify, fixed_in_settings
from app.core.server_view import ServerView
from app.core.session_state import (
    ConnectionState,
    SessionEnded,
    SessionSnapshot,
    StopOutcome,
)
from app.core.stop_pad import PAD_FRAMES, is_padding
from app.core.throttle import ThrottlePolicy, ThrottleState
from app.core.vad import VoiceDetector
from app.errors import EchoPanelError
from app.session.config import SessionConfig
from app.session.connections import Connections
from app.session.handover import close_books, follow
from app.session.intake import Intake
from app.session.model import Listener, SessionModel
from app.session.pipeline import Sender
from app.session.readiness import await_ready
from app.session.ticker import Ticker
from app.session.waits import best_effort

log = logging.getLogger(__name__)
LEVEL_REFRESH_SECONDS = 0.25


class Session:
    """See the module docstring. One instance runs once."""

    def __init__(self, config: SessionConfig, sources: Sequence[AudioSource], *,
                 listener: Listener | None = None, clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None,
                 detector: Callable[[], VoiceDetector] | None = None) -> None:
        """``detector``: makes each source's voice detector for throttling (default: the WebRTC VAD,
        ``app.session.voice``)."""
        if not sources:
            raise ValueError("a session needs at least one audio source")
        self.config = config
        self.session_id = str(uuid.uuid4())
        self._clock = clock
        self._rng = rng or random.Random()
        self._intake = Intake(sources, config.pipe, throttle=config.throttle, detector=detector)
        self._pipes = {pipe.source.value: pipe for pipe in self._intake.pipes}
        self._policy = ThrottlePolicy(clock=clock, enabled=config.throttle)
        self._sender = Sender(self._intake.pipes, clock, self._on_sent, self._policy,
                              window=config.tick_seconds, pad_frames=PAD_FRAMES if config.stop_padding else 0)
        self._model = SessionModel(self.session_id, clock)
        if listener is not None:
            self._model.listeners.append(listener)
        self._stop_requested = asyncio.Event()
        self._connections = Connections(self.session_id, config, intake=self._intake, sender=self._sender,
                                        model=self._model, policy=self._policy, clock=clock, rng=self._rng,
                                        stop_requested=self._stop_requested)
        self._ended: SessionEnded | None = None
        self._task: asyncio.Task[SessionEnded] | None = None
        self._crash: BaseException | None = None
        self._tick_listeners: list[Callable[[], None]] = []
        self._next_level = -math.inf  # when the tick next refreshes the backpressure level

    # ------------------------------------------------------------------ public interface

    def add_listener(self, listener: Listener) -> None:
        self._model.listeners.append(listener)

    def add_tick_listener(self, listener: Callable[[], None]) -> None:
        """Called at the end of every tick: a window polls its snapshot in the same wake-up instead of
        on a timer of its own. A listener that raises is logged and dropped; the session goes on."""
        self._tick_listeners.append(listener)

    def add_audio_tap(self, tap: Callable[[list[Frame]], None]) -> None:
        """``tap(frames)`` gets every captured frame, in capture order per source, before throttling, on
        the loop thread (a local recording of the meeting); it must be quick and must not raise."""
        self._intake.taps.append(tap)

    def snapshot(self) -> SessionSnapshot:
        return self._model.snapshot(self._intake.counters(), self._policy.text())

    @property
    def ended(self) -> SessionEnded | None:
        """The end event once the session has ended, else ``None``."""
        return self._ended

    @property
    def _view(self) -> ServerView[Frame] | None:  # what the tick, the sends and the end read of it
        return self._connections.view

    @property
    def server_view(self) -> ServerView[Frame] | None:
        """The current (or last) connection's view of the server side (read-only use: diagnostics and
        benchmarks, e.g. how many frames its resend window keeps)."""
        return self._view

    @property
    def throttle(self) -> bool:
        return self._policy.enabled

    def set_throttle(self, enabled: bool) -> None:
        """Live setter: no frame is lost or duplicated by the switch (the frames stay in their holds).
        Announced to the server (``client_vad_enabled``) from the next connection on."""
        self._intake.set_throttle(enabled)
        self._policy.enabled = enabled
        self._model.note_throttle(self._throttle_state(), force=True)

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
                outcome, message = await self._connections.run()
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

    async def _shutdown(self, ticker: Ticker | None) -> None:
        with best_effort("stopping the audio sources"):
            await self._intake.stop()
        await self._connections.close()
        if ticker is not None:
            ticker.cancel()
        for source, frames in self._intake.discard_rest().items():
            self._model.losses.frames(source.value, frames, LossCause.CLIENT_SHED)

    # ------------------------------------------------------------------ loop helpers

    def _tick(self, now: float) -> None:
        """Every tick: read captured frames, send what is due, watch the sources; now and then refresh
        the level, the throttling mode and what the mirror knows of the server's drops."""
        losses = self._model.losses
        for source, frames in self._intake.route(now):
            losses.frames(source.value, frames, LossCause.CLIENT_SHED)
        self._sender.on_tick()  # every tick: the sender keeps no timers of its own
        all_done = self._intake.watch(self._warn)
        if all_done and self.config.stop_when_sources_finish and not self._stop_requested.is_set():
            log.info("every source has finished: stopping")
            self.request_stop()
        if now >= self._next_level:
            self._next_level = now + LEVEL_REFRESH_SECONDS
            follow(now, self._view, self._intake, self._model, self._policy)
        for listener in self._tick_listeners:
            try:
                listener()
            except Exception:  # the window's bug must not stop the meeting's audio
                log.exception("a tick listener failed; it is dropped")
                self._tick_listeners.remove(listener)
                break

    # ------------------------------------------------------------------ state

    def _on_sent(self, batch: list[Frame], now: float) -> None:
        """Every batch written: counters, send lag, and the connection's view (mirror, time map, resend
        window)."""
        pipes = self._pipes
        for frame in batch:
            pipe = pipes[frame.source.value]
            if is_padding(frame):
                pipe.padding += 1  # not audio: in no count of captured or sent frames
            else:
                pipe.note_sent(now - frame.capture_time)
        if self._view is not None:
            self._view.record_sent(batch, now)

    def _set_state(self, state: ConnectionState, detail: str = "") -> None:
        self._model.set_state(state, detail)

    def _warn(self, message: str) -> None:
        self._model.warn(message)

    def _finish_state(self, outcome: StopOutcome, message: str) -> None:
        failed = outcome is StopOutcome.FAILED
        self._set_state(ConnectionState.FAILED if failed else ConnectionState.STOPPED, message)
        m = self._model
        close_books(self._view, self._intake, m.losses, complete=outcome is StopOutcome.SUMMARY)
        m.note_throttle(self._throttle_state(), force=True)  # the last word on throttling, if it changed
        m.refresh_status(self._intake.waiting_seconds(), self._intake.hold_share(), {})
        sources = [pipe.source.value for pipe in self._intake.pipes]
        self._ended = SessionEnded(m.elapsed(), outcome, self._intake.counters(), m.server_dropped_frames,
                                   m.reconnects, message, m.losses.by_source(sources))
        m.emit(self._ended)

    def _throttle_state(self) -> ThrottleState:
        return self._intake.throttle_state(self._policy, self._view)

