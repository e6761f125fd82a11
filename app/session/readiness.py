"""Waiting for the backend: before a session streams, ``GET /health`` until it is ready, retried with
the reconnect policy, so a restarting backend is waited for, boundedly; between connections, the
reconnect backoff (``back_off``). Event-loop thread only; a stop request ends either wait at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from app.core.reconnect import AttemptCounter, Retry, classify
from app.core.session_state import ConnectionState
from app.errors import ConnectionFailedError, EchoPanelError
from app.session.config import SessionConfig
from app.session.waits import unless_set, within
from app.transport.health import check_health

SetState = Callable[[ConnectionState, str], None]


async def await_ready(config: SessionConfig, rng: random.Random, stop: asyncio.Event,
                      set_state: SetState) -> None:
    """Return once ``/health`` says ready (or ``stop`` is set). A transient failure (unreachable; still
    loading after ``health_wait_seconds``) is retried with the reconnect policy; a terminal one (a
    refused token) raises at once, as does the last transient one when the attempts run out."""
    counter = AttemptCounter(config.reconnect, rng)

    def waiting(reason: str) -> None:
        set_state(ConnectionState.CHECKING, f"Backend not ready: {reason}")

    while not stop.is_set():
        set_state(ConnectionState.CHECKING, f"Checking {config.endpoint.health_url}")
        try:
            await unless_set(stop, check_health(
                config.endpoint, config.token, wait_seconds=config.health_wait_seconds, on_wait=waiting))
            return
        except EchoPanelError as exc:
            if classify(exc) is Retry.TERMINAL:
                raise
            delay = counter.next_delay()
            if delay is None and counter.attempt == 0:
                raise
            if delay is None:
                raise ConnectionFailedError(f"Gave up after {counter.attempt} retries: {exc}") from None
            set_state(ConnectionState.CHECKING, f"Retrying in {delay:.1f} s "
                      f"(attempt {counter.attempt} of {config.reconnect.max_attempts}): {exc}")
            await within(stop.wait(), delay)


async def back_off(counter: AttemptCounter, error: EchoPanelError, *, limit: int, stop: asyncio.Event,
                   set_state: SetState, announce: Callable[[int, float], None]) -> None:
    """Wait before the next connection attempt, or raise ``error`` if it is terminal or the attempts ran
    out. ``announce(attempt, delay)`` tells the session's listeners."""
    if classify(error) is Retry.TERMINAL:
        raise error
    delay = counter.next_delay()
    if delay is None:
        raise ConnectionFailedError(f"Gave up after {counter.attempt} reconnect attempts: {error}")
    announce(counter.attempt, delay)
    if counter.quick:  # the last connection was healthy: a restart, most likely
        which = f"attempt {counter.attempt}"
    elif counter.backing_off == counter.attempt:
        which = f"attempt {counter.attempt} of {limit}"
    else:
        which = f"attempt {counter.attempt}: {counter.backing_off} of {limit} after the quick retries"
    set_state(ConnectionState.RECONNECTING, f"Reconnecting in {delay:.1f} s ({which}): {error}")
    await within(stop.wait(), delay)
