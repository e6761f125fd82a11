"""Flow control on stepped time: real time when off, the server's credit when on, nothing while the
server is silent, a ceiling always."""

from __future__ import annotations

import pytest

from app.core.flow import FlowConfig, FlowControl, LaneFlow

TICK = 0.08


def run(flow: LaneFlow, seconds: float, credit: int, *, throttled: bool, live: bool = True) -> int:
    sent, t = 0, 0.0
    while t < seconds - 1e-9:
        t += TICK
        n = flow.allowance(t, credit, throttled=throttled, live=live)
        flow.spent(n)
        sent += n
    return sent


def test_off_sends_live_audio_at_real_time_even_without_credit() -> None:
    assert run(LaneFlow(FlowConfig()), 10.0, credit=0, throttled=False) == pytest.approx(500, abs=10)


def test_on_sends_nothing_without_credit_and_up_to_the_ceiling_with_it() -> None:
    assert run(LaneFlow(FlowConfig()), 10.0, credit=0, throttled=True) == 0
    ceiling = run(LaneFlow(FlowConfig(ceiling=4.0)), 10.0, credit=10**6, throttled=True)
    assert ceiling == pytest.approx(2000, rel=0.05)  # 4x real time, never one huge write
    assert run(LaneFlow(FlowConfig()), 10.0, credit=3, throttled=True) == 3 * round(10.0 / TICK)


def test_a_late_tick_makes_up_real_time_but_unused_tokens_do_not_pile_up() -> None:
    flow = LaneFlow(FlowConfig(tick_seconds=0.08))
    flow.allowance(0.0, 0, throttled=False, live=True)
    flow.spent(flow.allowance(0.08, 0, throttled=False, live=True))
    late = flow.allowance(0.2, 0, throttled=False, live=True)  # 120 ms late: 6 frames came due
    assert late == 6
    idle = flow.allowance(5.2, 0, throttled=False, live=True)  # 5 s unused: one tick's worth and a late one
    assert idle <= 6


def test_nothing_goes_while_the_server_is_silent_once_it_reported_its_load() -> None:
    control = FlowControl(FlowConfig(stall_seconds=3.0), opened_at=0.0)
    assert control.live(10.0)  # never reported metrics: not judged by them
    control.heard(1.0, metrics=True)
    assert control.live(3.9) and not control.live(4.1)
    control.heard(6.0)
    assert control.live(8.0)
    assert run(LaneFlow(FlowConfig()), 5.0, credit=10**6, throttled=False, live=False) == 0
