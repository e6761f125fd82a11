"""SendRate: token bucket, drain estimate and AIMD for one source, stepped by hand (no clock, no sleep)."""

from __future__ import annotations

import itertools

import pytest

from app.core.messages import FRAME_BYTES, MetricsEvent
from app.core.send_rate import DropCounter, RateConfig, SendRate, queue_bytes

SECOND_BYTES = 32_000


def test_token_bucket_paces_at_the_rate_and_caps_bursts() -> None:
    r = SendRate(RateConfig(start_rate=1.0, burst_frames=5))
    r.refill(0.0)
    assert r.take() is True  # the first frame goes at once
    assert r.take() is False
    sent = 0
    for tick in range(1, 51):  # one second in 20 ms ticks
        r.refill(tick * 0.02)
        while r.take():
            sent += 1
    assert sent == 50
    r.refill(100.0)  # a long idle spell saves up at most burst_frames
    assert sum(r.take() for _ in range(20)) == 5


def test_drain_estimate_from_a_busy_queue() -> None:
    """The server consumes 0.6x real time; we send 1.0x; its queue grows by 0.4 s per second."""
    r = SendRate()
    queue, sent = 0.5 * SECOND_BYTES, 0
    for second in range(1, 8):
        sent += 50
        queue += (1.0 - 0.6) * SECOND_BYTES
        r.on_queue(float(second), sent, queue, queue / 64000, 0, adapt=False)
    assert r.drain == pytest.approx(0.6)
    assert r.rate == 1.0  # adapt=False: estimate only


def test_drain_estimate_subtracts_server_drops() -> None:
    r = SendRate()
    r.on_queue(0.0, 0, 63000, 0.98, 0, adapt=False)
    # One second: 50 frames sent, queue stays full, 25 frames dropped -> 25 frames consumed.
    r.on_queue(1.0, 50, 63000, 0.98, 25, adapt=False)
    assert r.drain == pytest.approx(0.5)


def test_idle_queue_gives_no_drain_sample() -> None:
    """An empty server queue shows how much we sent, not how much it could take."""
    r = SendRate()
    r.on_queue(0.0, 0, 0, 0.0, 0, adapt=False)
    r.on_queue(1.0, 20, 0, 0.0, 0, adapt=False)
    assert r.drain is None


def test_multiplicative_decrease_to_the_drain_and_dwell() -> None:
    cfg = RateConfig(decrease_factor=0.7, drain_margin=0.85, rate_dwell_seconds=2.0)
    r = SendRate(cfg)
    r.drain = 0.5
    r.on_queue(0.0, 0, 40000, 0.62, 3, adapt=True)  # drops: cut
    assert r.rate == pytest.approx(0.5 * 0.85)
    assert r.cuts == 1
    r.on_queue(1.0, 50, 60000, 0.94, 5, adapt=True)  # still congested, within the dwell: no cut
    assert r.cuts == 1
    r.on_queue(2.0, 100, 60000, 0.94, 5, adapt=True)
    assert r.cuts == 2
    assert r.rate == pytest.approx(min(0.425 * 0.7, 0.5 * 0.85))


def test_a_high_but_falling_queue_is_not_cut() -> None:
    r = SendRate()
    r.on_queue(0.0, 0, 50000, 0.78, 0, adapt=True)  # first sample, high: cut
    assert r.cuts == 1
    r.on_queue(3.0, 100, 40000, 0.62, 0, adapt=True)  # high but falling: hold
    assert r.cuts == 1


def test_additive_increase_only_when_the_budget_binds_and_never_past_catchup() -> None:
    cfg = RateConfig(start_rate=1.0, increase_step=0.1, increase_interval_seconds=1.0, catchup_rate=1.5)
    r = SendRate(cfg)
    r.on_queue(0.0, 0, 0, 0.0, 0, adapt=True)
    r.on_queue(1.0, 50, 0, 0.0, 0, adapt=True)
    assert r.rate == 1.0  # nothing waited for tokens: no evidence the budget is too low
    for second in range(2, 20):
        r.refill(float(second))
        while r.take():
            pass
        r.take()  # a frame had to wait
        r.on_queue(float(second), 50 * second, 0, 0.0, 0, adapt=True)
    assert r.rate == pytest.approx(1.5)
    assert r.effective == 1.5


def test_rate_hovering_queue_cuts_at_most_once_per_dwell() -> None:
    """A queue hovering around the threshold, sampled twice a second, alternating high and low."""
    r = SendRate(RateConfig(rate_dwell_seconds=2.0, min_rate=0.01))
    cut_times = []
    for step in range(60):
        now = step * 0.5
        high = step % 2 == 0
        before = r.cuts
        r.take()
        r.on_queue(now, step * 25, 36000 if high else 30000, 0.56 if high else 0.47, 0, adapt=True)
        if r.cuts > before:
            cut_times.append(now)
    assert len(cut_times) >= 5
    assert all(b - a >= 2.0 for a, b in itertools.pairwise(cut_times))


def test_restart_forgets_the_queue_sample_but_keeps_the_rate() -> None:
    r = SendRate()
    r.on_queue(0.0, 0, 63000, 0.98, 10, adapt=True)
    rate = r.rate
    r.restart()
    r.on_queue(5.0, 0, 20000, 0.3, 0, adapt=False)  # no sample spanning the reconnect
    assert r.drain is None
    assert r.rate == rate


def test_queue_bytes_and_drop_counter_read_metrics_leniently() -> None:
    assert queue_bytes(MetricsEvent(queue_bytes=1280)) == 1280
    assert queue_bytes(MetricsEvent(queue_fill_ratio=0.5)) == 32000
    assert queue_bytes(MetricsEvent(backlog_seconds=0.5)) == 16000
    assert queue_bytes(MetricsEvent(queue_bytes=-3, queue_fill_ratio=float("nan"))) is None
    drops = DropCounter()
    assert drops.new_frames(10, 10) == 10
    assert drops.new_frames(10, 0) == 0
    assert drops.new_frames(15, 5) == 5
    assert drops.new_frames(None, 4) == 4
    assert drops.new_frames(3, 3) == 3  # a lower total: the server restarted its count
    assert FRAME_BYTES == 640


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        RateConfig(min_rate=2.0)
    with pytest.raises(ValueError):
        RateConfig(decrease_factor=1.0)
