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

A connection that was healthy (streamed ``quick_after_seconds``) and then ended is most likely a
restart or a network blip: every second of back-off is a second of audio piling up in the client's
hold, which then has to be caught up. So the first retries after it come at once and then every
``quick_interval_seconds``, for ``quick_seconds`` in all (the ``QUICK_DELAYS`` ramp, then the
interval); they do not count against ``max_attempts``. Only if the backend is still away after that
does the exponential back-off begin, from ``base_seconds``.
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
    quick_after_seconds: float = 10.0  # a connection that streamed this long was healthy: quick retries
    quick_seconds: float = 10.0  # after a healthy connection: retry quickly this long before backing off
    quick_interval_seconds: float = 0.5

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.factor < 1 or self.cap_seconds < self.base_seconds:
            raise ValueError("reconnect policy needs base > 0, factor >= 1, cap >= base")
        if not 0 <= self.jitter < 1 or self.max_attempts < 0:
            raise ValueError("reconnect policy needs 0 <= jitter < 1 and max_attempts >= 0")
        if self.quick_seconds < 0 or self.quick_interval_seconds <= 0 or self.quick_after_seconds < 0:
            raise ValueError("reconnect policy needs quick_seconds >= 0, quick_interval_seconds > 0 and "
                             "quick_after_seconds >= 0")


QUICK_DELAYS = (0.05, 0.25)  # the first quick retries (then every ``quick_interval_seconds``)


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
    out their delays: quick ones first after a healthy connection, then growing until a connection was
    stable (see the module docstring)."""

    def __init__(self, policy: ReconnectPolicy, rng: random.Random) -> None:
        self._policy = policy
        self._rng = rng
        self._step = 0  # position in the backoff sequence; back to 0 after a stable connection
        self._quick_left = 0.0  # seconds of quick retrying left (granted by a healthy connection)
        self._quick_step = 0
        self.attempt = 0  # failed attempts since the last acknowledged connection
        self.backing_off = 0  # ... of which in the back-off (``max_attempts`` bounds these)
        self.quick = False  # the last delay handed out was a quick retry
        self.outages = 0  # runs of failed attempts over the whole session: one per lost connection

    def next_delay(self) -> float | None:
        """The delay before the next attempt, or ``None`` when ``max_attempts`` consecutive attempts
        have failed in the back-off."""
        policy = self._policy
        self.quick = self._quick_left > 0
        if self.quick:
            nominal = QUICK_DELAYS[self._quick_step] if self._quick_step < len(QUICK_DELAYS) \
                else policy.quick_interval_seconds
            delay = min(nominal, self._quick_left) * (1.0 - policy.jitter * self._rng.random())
            self._quick_left -= nominal
            self._quick_step += 1
        else:
            if self.backing_off >= policy.max_attempts:
                return None
            delay = backoff_delay(policy, self._step, self._rng)
            self._step += 1
            self.backing_off += 1
        self.outages += self.attempt == 0
        self.attempt += 1
        return delay

    def connection_streamed(self, seconds: float) -> None:
        """Report how long the last ACKNOWLEDGED connection streamed: it was a success, so the count of
        consecutive failures starts again; a healthy one (``quick_after_seconds``) earns quick retries, a
        stable one (``stable_after_seconds``) also resets the delay."""
        self.attempt = self.backing_off = 0
        if seconds >= self._policy.quick_after_seconds:
            self._quick_left, self._quick_step = self._policy.quick_seconds, 0
        if seconds >= self._policy.stable_after_seconds:
            self._step = 0
