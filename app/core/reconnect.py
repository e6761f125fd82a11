"""Reconnect policy: capped exponential backoff with jitter, a maximum number of attempts, and the
retryable-vs-terminal classification of failures (CONTRACT.md section 6, "reconnect").

Pure: the random source is injected (``random.Random(seed)`` in tests), there is no clock and no sleep.
The session asks ``backoff_delays`` for the next delay and sleeps itself.

The macOS client retries every 1 s forever and resets its counter on every connect. Here two things
are counted apart: ``max_attempts`` bounds CONSECUTIVE failed attempts (any acknowledged connection
resets it, so a backend that restarts every few seconds never ends a session while each reconnect
succeeds), while the backoff delay only starts again from ``base_seconds`` after a connection has
streamed for ``stable_after_seconds`` (so a backend that acknowledges and dies at once is not
hammered: the delays keep growing to the cap).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterator
from dataclasses import dataclass

from app.errors import AuthError, CapacityError, ConfigError, ConnectionFailedError, EchoPanelError


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """``delay(n) = min(cap, base * factor**n) * u`` with ``u`` uniform in ``[1 - jitter, 1]``, for attempts
    ``n = 0 .. max_attempts - 1``. Jitter only shortens, so delays at the cap still differ between
    clients (no thundering herd after a backend restart) and never exceed it."""

    base_seconds: float = 0.5
    factor: float = 2.0
    cap_seconds: float = 15.0
    jitter: float = 0.25
    max_attempts: int = 8
    stable_after_seconds: float = 20.0

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.factor < 1 or self.cap_seconds < self.base_seconds:
            raise ValueError("reconnect policy needs base > 0, factor >= 1, cap >= base")
        if not 0 <= self.jitter < 1 or self.max_attempts < 0:
            raise ValueError("reconnect policy needs 0 <= jitter < 1 and max_attempts >= 0")


def backoff_delay(policy: ReconnectPolicy, step: int, rng: random.Random) -> float:
    """The delay before attempt ``step`` (0-based) of a backoff sequence, within ``(0, cap]``."""
    nominal = min(policy.cap_seconds, policy.base_seconds * policy.factor ** min(step, 64))
    return nominal * (1.0 - policy.jitter * rng.random())


def backoff_delays(policy: ReconnectPolicy, rng: random.Random) -> Iterator[float]:
    """Yield at most ``policy.max_attempts`` delays in seconds, each within ``(0, cap]``."""
    for attempt in range(policy.max_attempts):
        yield backoff_delay(policy, attempt, rng)


class Retry(enum.Enum):
    RETRY = "retry"  # transient: back off and reconnect
    TERMINAL = "terminal"  # retrying cannot help: show it and end the session


def classify(error: BaseException) -> Retry:
    """Whether a connection failure is worth another attempt.

    Retryable: the socket dropped or could not open, the backend is not ready, the server is at
    capacity (with backoff, never a tight loop), no start ack in time (a restarting backend). Terminal:
    authentication (close 1008 or status "Unauthorized"), protocol errors (``type:"error"``, unsupported
    format), bad configuration, and anything unexpected (a bug should surface, not loop).
    """
    if isinstance(error, CapacityError | ConnectionFailedError):
        return Retry.RETRY
    if isinstance(error, EchoPanelError):  # AuthError, ProtocolError, ConfigError, ...
        return Retry.TERMINAL
    if isinstance(error, OSError | TimeoutError | EOFError):
        return Retry.RETRY
    return Retry.TERMINAL


def fixed_in_settings(error: BaseException) -> bool:
    """Whether the user fixes ``error`` in the settings: a bad address or value, a host that does not
    exist, a refused token."""
    return isinstance(error, ConfigError | AuthError)


class AttemptCounter:
    """Counts consecutive failed attempts (``attempt``, reset by any acknowledged connection) and hands
    out their delays (growing until a connection was stable)."""

    def __init__(self, policy: ReconnectPolicy, rng: random.Random) -> None:
        self._policy = policy
        self._rng = rng
        self._step = 0  # position in the backoff sequence; back to 0 after a stable connection
        self.attempt = 0  # failed attempts since the last acknowledged connection
        self.total = 0  # reconnects over the whole session

    def next_delay(self) -> float | None:
        """The delay before the next attempt, or ``None`` when ``max_attempts`` consecutive attempts
        have failed."""
        if self.attempt >= self._policy.max_attempts:
            return None
        delay = backoff_delay(self._policy, self._step, self._rng)
        self._step += 1
        self.attempt += 1
        self.total += 1
        return delay

    def connection_streamed(self, seconds: float) -> None:
        """Report how long the last ACKNOWLEDGED connection streamed: it was a success, so the count of
        consecutive failures starts again; a stable one (``stable_after_seconds``) also resets the delay."""
        self.attempt = 0
        if seconds >= self._policy.stable_after_seconds:
            self._step = 0
