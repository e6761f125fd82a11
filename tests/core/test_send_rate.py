"""SendRate: token bucket, drain estimate and AIMD for one source, stepped by hand (no clock, no sleep)."""

from __future__ import annotations

import itertools

import pytest

from app.core.drop_blame import DropCounter
from app.core.messages import FRAME_BYTES, MetricsEvent
from app.core.send_rate import RateConfig, SendRate, queue_bytes

SECOND_BYTES = 32_000


def frames_sent_over_ten_seconds(config: RateConfig, rate: float, tick: float) -> int:
    """Refill every ``tick`` (every third tick 30 ms late, as on a busy machine) and send what the
    budget allows, at ``rate`` x real time."""
    r = SendRate(config)
    r.rate = rate
    now, sent = 0.0, 0
    for k in itertools.count():
        now = k * tick + (0.03 if k % 3 == 2 else 0.0)
        if now > 10.0:
            return sent
        r.refill(now)
        while r.take():
            sent += 1
    raise AssertionError("unreachable")


@pytest.mark.parametrize("tick", [0.02, 0.04, 0.08, 0.1])
def test_a_budget_sized_for_the_tick_keeps_its_rate_with_late_ticks(tick: float) -> None:
    config = RateConfig.for_tick(tick)
    for rate in (1.0, config.catchup_rate):
        assert frames_sent_over_ten_seconds(config, rate, tick) >= 0.98 * 500 * rate


def test_a_fixed_small_burst_caps_the_rate_at_a_long_tick() -> None:
    """Why ``for_tick`` exists: 5 tokens per 80 ms tick cannot carry 1.5x (6 frames a tick)."""
    assert frames_sent_over_ten_seconds(RateConfig(burst_frames=5), 1.5, 0.08) < 0.9 * 750


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


@pytest.mark.parametrize("low_bytes", [30000, 0])  # hovering at the threshold; flipping full/empty
def test_rate_hovering_queue_flips_at_most_once_per_dwell(low_bytes: int) -> None:
    """A queue hovering around the threshold, sampled twice a second, alternating high and low
    (low = just under the threshold, or empty, which invites the multiplicative increase)."""
    r = SendRate(RateConfig(rate_dwell_seconds=2.0, min_rate=0.01))
    changes: list[tuple[float, int]] = []  # (time, +1 increase / -1 decrease)
    for step in range(60):
        now = step * 0.5
        high = step % 2 == 0
        before = r.rate
        r.refill(now)
        while r.take():
            pass  # the budget binds: the policy would send more if it could
        queue = 36000 if high else low_bytes
        r.on_queue(now, step * 25, queue, queue / 64000, 0, adapt=True)
        if r.rate != before:
            changes.append((now, 1 if r.rate > before else -1))
    cuts = [t for t, d in changes if d < 0]
    assert len(cuts) >= 5
    assert all(b - a >= 2.0 for a, b in itertools.pairwise(cuts))
    flips = [b for a, b in itertools.pairwise(changes) if a[1] != b[1]]  # reversals of direction
    assert all(b[0] - a[0] >= 2.0 for a, b in itertools.pairwise(flips))


def simulate(r: SendRate, capacity: float, seconds: int, start: float = 0.0, queue: float = 0.0,
             sent: int = 0) -> tuple[list[float], float, int]:
    """Send as fast as the budget allows (a backlog is always waiting) into a 2 s drop-oldest queue
    drained at ``capacity`` x real time; metrics once a second. The rate after each second."""
    rates = []
    for second in range(1, seconds + 1):
        now = start + second
        frames = 0
        for tick in range(50):
            r.refill(now - 1 + (tick + 1) * 0.02)
            while r.take():
                frames += 1
        sent += frames
        queue += (frames / 50 - capacity) * SECOND_BYTES
        drops = max(0, round((queue - 64000) / FRAME_BYTES))
        queue = min(max(queue, 0.0), 64000.0)
        r.on_queue(now, sent, queue, queue / 64000, drops, adapt=True)
        rates.append(r.rate)
    return rates, queue, sent


def test_increases_stop_at_a_fresh_drain_estimate() -> None:
    """During an overload the rate is cut to 0.85 x drain and then climbs back only to the drain
    (before: +0.05/s to about 1x and a new cut every ~10 s, a sawtooth that builds lag)."""
    r = SendRate()
    rates, _, _ = simulate(r, capacity=0.625, seconds=45)
    assert r.drain == pytest.approx(0.625, abs=0.03)
    assert r.cuts <= 3
    assert max(rates[10:]) <= 0.625 + 0.03


def test_stale_drain_estimate_is_raised_and_the_rate_climbs_back_quickly() -> None:
    """After the overload the backend drains at 2x: the queue empties, the estimate stops being fresh
    (and rises to what is observed), and the rate grows multiplicatively to the catch-up rate."""
    r = SendRate()
    _, queue, sent = simulate(r, capacity=0.625, seconds=45)
    assert r.rate <= 0.65
    after, _, _ = simulate(r, capacity=2.0, seconds=20, start=45.0, queue=queue, sent=sent)
    assert r.drain is not None and r.drain >= 1.4  # before: frozen at 0.62
    assert after.index(1.5) <= 6  # 1.5x within 6 s (before: +0.05/s, never above 1.2 in 20 s)
    assert after == sorted(after)  # no cut on the way up
    assert not r.drain_fresh(65.0)


def test_an_unused_low_budget_returns_to_real_time_but_not_beyond() -> None:
    """A source cut during the overload that then only had silence to skip never binds its budget;
    once its queue is empty and the estimate stale, the rate returns to 1x, so that source's audio
    is not held when it flows again (before: it stayed at the cut rate)."""
    r = SendRate()
    _, queue, sent = simulate(r, capacity=0.625, seconds=20)
    assert r.rate <= 0.65
    rates = []
    for second in range(21, 31):  # nothing to send: the queue empties, no frame waits for tokens
        queue = max(0.0, queue - 2.0 * SECOND_BYTES)
        r.on_queue(float(second), sent, queue, queue / 64000, 0, adapt=True)
        rates.append(r.rate)
    assert rates[-1] == 1.0
    assert rates.index(1.0) <= 7


def test_a_busy_sample_after_a_stale_spell_replaces_the_estimate() -> None:
    r = SendRate()
    _, queue, sent = simulate(r, capacity=0.8, seconds=15)  # busy: fresh estimate 0.8
    _, queue, sent = simulate(r, capacity=2.0, seconds=10, start=15.0, queue=queue, sent=sent)
    assert r.drain == pytest.approx(1.5)  # idle at 1.5x: a lower bound, no longer fresh
    estimates = []
    for second in range(25, 28):  # a new overload at 0.5x
        _, queue, sent = simulate(r, capacity=0.5, seconds=1, start=second, queue=queue, sent=sent)
        estimates.append(r.drain)
    # the first busy sample is taken as is (a blend would say 0.8 and need ~8 s to get near 0.5)
    assert estimates[1] == pytest.approx(0.5, abs=0.05)


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
    with pytest.raises(ValueError):
        RateConfig(increase_factor=0.9)
