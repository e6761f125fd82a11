"""Reconnect policy: capped exponential backoff with jitter (seeded), attempt limit, classification."""

from __future__ import annotations

import random

import pytest

from app.core.reconnect import AttemptCounter, ReconnectPolicy, Retry, backoff_delays, classify
from app.errors import (
    AuthError,
    BackendNotReadyError,
    CapacityError,
    CertificateError,
    ConfigError,
    ConnectionFailedError,
    HostNotFoundError,
    ProtocolError,
)


def test_without_jitter_delays_double_up_to_the_cap_and_stop_at_max_attempts() -> None:
    policy = ReconnectPolicy(base_seconds=0.5, factor=2.0, cap_seconds=3.0, jitter=0.0, max_attempts=6)
    assert list(backoff_delays(policy, random.Random(1))) == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_jitter_stays_within_its_band_and_never_exceeds_the_cap() -> None:
    policy = ReconnectPolicy(base_seconds=1.0, factor=2.0, cap_seconds=8.0, jitter=0.25, max_attempts=40)
    delays = list(backoff_delays(policy, random.Random(7)))
    assert len(delays) == 40
    for n, delay in enumerate(delays):
        nominal = min(8.0, 2.0**n)
        assert 0.75 * nominal - 1e-9 <= delay <= nominal <= 8.0
    assert len(set(delays)) == 40  # jitter really varies the delays (no thundering herd)


def test_seeded_rng_gives_reproducible_delays() -> None:
    policy = ReconnectPolicy()
    assert list(backoff_delays(policy, random.Random(3))) == list(backoff_delays(policy, random.Random(3)))
    assert list(backoff_delays(policy, random.Random(3))) != list(backoff_delays(policy, random.Random(4)))


def test_counter_bounds_consecutive_failures_and_only_a_stable_connection_resets_the_delay() -> None:
    policy = ReconnectPolicy(
        jitter=0.0, max_attempts=3, base_seconds=1.0, cap_seconds=10.0, stable_after_seconds=20.0,
        quick_seconds=0.0,  # no quick retries after a healthy connection (their own test below)
    )
    counter = AttemptCounter(policy, random.Random(0))
    assert counter.next_delay() == 1.0
    counter.connection_streamed(2.0)  # acked then died quickly: a success, but the delay keeps growing
    assert counter.attempt == 0
    assert [counter.next_delay() for _ in range(4)] == [2.0, 4.0, 8.0, None]  # 3 failures in a row
    counter.connection_streamed(25.0)  # stable: both start again
    assert counter.attempt == 0
    assert counter.next_delay() == 1.0
    assert counter.outages == 3  # 5 attempts in 3 runs of failures: one per lost connection


def test_a_backend_restarting_every_few_seconds_never_exhausts_the_attempts() -> None:
    """The issue's case: every 5 s a restart, each reconnect acknowledged after one failed attempt."""
    counter = AttemptCounter(ReconnectPolicy(jitter=0.0, max_attempts=8), random.Random(0))
    for _ in range(50):
        assert counter.next_delay() is not None  # the restart itself
        assert counter.next_delay() is not None  # one attempt while it is down
        counter.connection_streamed(5.0)
    assert counter.outages == 50  # 100 attempts, 50 outages
    assert counter.next_delay() == 15.0  # at the cap: not hammered


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectionFailedError("dropped"), Retry.RETRY),
        (BackendNotReadyError("loading"), Retry.RETRY),
        (CapacityError("Server at capacity"), Retry.RETRY),
        (ConnectionRefusedError(), Retry.RETRY),
        (TimeoutError(), Retry.RETRY),
        (AuthError("Unauthorized"), Retry.TERMINAL),
        (ProtocolError("Unsupported audio format"), Retry.TERMINAL),
        (ConfigError("bad url"), Retry.TERMINAL),
        (HostNotFoundError("no such name"), Retry.TERMINAL),
        (CertificateError("self-signed certificate"), Retry.TERMINAL),
        (RuntimeError("bug"), Retry.TERMINAL),
    ],
)
def test_classification(error: BaseException, expected: Retry) -> None:
    assert classify(error) is expected


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(base_seconds=0)
    with pytest.raises(ValueError):
        ReconnectPolicy(jitter=1.5)


def test_after_a_healthy_connection_the_first_retries_are_quick_and_do_not_use_up_the_attempts() -> None:
    """A backend restart after a healthy connection: retry at once, then every interval for
    ``quick_seconds``; only then the exponential back-off, from its base, bounded by max_attempts."""
    policy = ReconnectPolicy(jitter=0.0, max_attempts=3, base_seconds=1.0, cap_seconds=10.0,
                             stable_after_seconds=20.0, quick_seconds=2.0, quick_interval_seconds=0.5)
    counter = AttemptCounter(policy, random.Random(0))
    counter.connection_streamed(45.0)
    quick = [counter.next_delay() for _ in range(6)]
    assert quick == pytest.approx([0.05, 0.25, 0.5, 0.5, 0.5, 0.2])  # the ramp, the interval, the rest
    assert counter.quick and counter.attempt == 6 and counter.backing_off == 0
    assert [counter.next_delay() for _ in range(4)] == [1.0, 2.0, 4.0, None]  # then the back-off
    assert not counter.quick and counter.backing_off == 3


def test_quick_retries_need_a_healthy_connection() -> None:
    """At the start (never connected) and after a connection that died at once: back-off only. One
    that streamed a few seconds (the real server killed 19 s into a session) earns quick retries,
    though not yet the back-off's reset."""
    policy = ReconnectPolicy(jitter=0.0, base_seconds=1.0, stable_after_seconds=20.0,
                             quick_after_seconds=10.0)
    counter = AttemptCounter(policy, random.Random(0))
    assert counter.next_delay() == 1.0
    counter.connection_streamed(3.0)
    assert counter.next_delay() == 2.0 and not counter.quick
    counter.connection_streamed(19.0)
    assert counter.next_delay() == 0.05 and counter.quick


def test_quick_retries_are_jittered_but_never_longer() -> None:
    policy = ReconnectPolicy(jitter=0.25, quick_seconds=5.0, quick_interval_seconds=0.5)
    counter = AttemptCounter(policy, random.Random(5))
    counter.connection_streamed(60.0)
    delays = [counter.next_delay() for _ in range(6)]
    assert all(d is not None for d in delays)
    for delay, nominal in zip(delays, [0.05, 0.25, 0.5, 0.5, 0.5, 0.5], strict=True):
        assert delay is not None and 0.75 * nominal - 1e-9 <= delay <= nominal
