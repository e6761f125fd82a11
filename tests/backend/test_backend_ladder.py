"""The degrade ladder and the between-finals real-time factor that feeds it, with a stepped clock
(CONTRACT.md section 10; the real server's thresholds and timing)."""

from __future__ import annotations

import pytest

from app.backend.ladder import DegradeLadder, DegradeLevel, LadderMove, action_for, target_level
from app.backend.rtf import ClockSpread, FinalsMeter


class SteppedClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("rtf, level", [(0.79, "NORMAL"), (0.8, "WARNING"), (0.9999, "WARNING"),
                                        (1.0, "DEGRADE"), (1.1999, "DEGRADE"), (1.2, "EMERGENCY"),
                                        (9.0, "EMERGENCY")])
def test_target_levels_use_the_real_thresholds(rtf: float, level: str) -> None:
    assert target_level(rtf).name == level


def test_nothing_moves_in_the_first_ten_seconds_then_it_jumps_straight_to_the_target() -> None:
    clock = SteppedClock()
    ladder = DegradeLadder(clock)
    clock.now += 9.99
    assert ladder.check(1.5) is None and ladder.level is DegradeLevel.NORMAL
    clock.now += 0.01
    assert ladder.check(1.5) == LadderMove(DegradeLevel.NORMAL, DegradeLevel.EMERGENCY, "none")
    assert ladder.level_since == clock.now


def test_a_healthy_chunked_session_moves_up_at_its_fifth_final_and_never_back() -> None:
    """Healthy means a final every 2 s for 2 s of audio: r hovers at 1.0, so the ladder goes to
    WARNING or DEGRADE (a coin flip on milliseconds) and stays there: no recovery status, ever."""
    for r, first in ((0.9995, DegradeLevel.WARNING), (1.0005, DegradeLevel.DEGRADE)):
        clock = SteppedClock()
        ladder = DegradeLadder(clock)
        clock.now += 10.6  # the 5th final of a 2 s-chunk recognizer at RTF 0.3
        move = ladder.check(r)
        assert move is not None and move.new is first
        assert move.action == ("increase_chunk_size" if first is DegradeLevel.WARNING else "none")
        for _ in range(20):  # 200 more seconds of healthy checks
            clock.now += 10.0
            ladder.check(1.0)
        assert ladder.level >= first


def test_warning_moves_to_degrade_only_after_ten_more_seconds() -> None:
    clock = SteppedClock()
    ladder = DegradeLadder(clock)
    clock.now += 10.6
    assert ladder.check(0.99) is not None
    clock.now += 9.99
    assert ladder.check(1.01) is None
    clock.now += 0.01
    assert ladder.check(1.01) == LadderMove(DegradeLevel.WARNING, DegradeLevel.DEGRADE, "reduce_quality")
    clock.now += 10.5
    assert ladder.check(1.3) == LadderMove(DegradeLevel.DEGRADE, DegradeLevel.EMERGENCY, "drop_chunks")


def test_recovery_needs_a_low_mean_over_thirty_seconds() -> None:
    clock = SteppedClock()
    ladder = DegradeLadder(clock)
    clock.now += 10
    ladder.check(1.5)  # EMERGENCY
    clock.now += 1
    assert ladder.check(0.3) is None  # mean of the last 30 s: (1.5 + 0.3) / 2 = 0.9
    clock.now += 1
    ladder.check(0.3)
    clock.now += 1
    assert ladder.check(0.3) == LadderMove(DegradeLevel.EMERGENCY, DegradeLevel.NORMAL, "none")  # 0.6


def test_at_the_target_level_it_steps_down_one_only_with_a_wider_margin() -> None:
    clock = SteppedClock()
    ladder = DegradeLadder(clock)
    clock.now += 10
    ladder.check(0.85)  # WARNING
    clock.now += 31  # the WARNING sample leaves the 30 s window
    assert ladder.check(0.8) is None  # target WARNING, mean 0.8: no step
    clock.now += 31
    ladder.check(0.1)  # target NORMAL < level, mean 0.1 < 0.7: recover straight down
    assert ladder.level is DegradeLevel.NORMAL


def test_rtf_avg_covers_the_last_ten_seconds_and_is_zero_without_samples() -> None:
    clock = SteppedClock()
    ladder = DegradeLadder(clock)
    assert ladder.rtf_avg(10) == 0.0
    ladder.check(1.0)
    clock.now += 5
    ladder.check(1.5)
    assert ladder.rtf_avg(10) == 1.25
    clock.now += 5  # the first sample is exactly 10 s old: out
    assert ladder.rtf_avg(10) == 1.5
    clock.now += 5
    assert ladder.rtf_avg(10) == 0.0


def test_failover_is_the_only_action_named_for_jumps_to_it() -> None:
    assert action_for(DegradeLevel.EMERGENCY, DegradeLevel.FAILOVER) == "failover"
    assert action_for(DegradeLevel.NORMAL, DegradeLevel.EMERGENCY) == "none"


# --------------------------------------------------------------------------- between finals


def test_realtime_factor_is_wall_time_between_finals_over_audio() -> None:
    clock = SteppedClock()
    meter = FinalsMeter(clock)
    clock.now += 0.6
    assert meter.final(0.0, 2.0) is None  # the first final: no previous one, no sample
    assert meter.realtime_factor == 0.0 and meter.avg_gap_ms == 0.0
    for k in range(1, 4):
        clock.now += 3.0  # overloaded at RTF 1.5: a 2 s chunk every 3 s
        meter.final(2.0 * k, 2.0 * k + 2)
    assert meter.realtime_factor == 1.5 and meter.avg_gap_ms == 3000.0


def test_the_ladder_is_checked_with_every_fifth_finals_sample() -> None:
    clock = SteppedClock()
    meter = FinalsMeter(clock)
    due = []
    for k in range(15):
        clock.now += 2.0
        due.append(meter.final(2.0 * k, 2.0 * k + 2))
    assert [i + 1 for i, r in enumerate(due) if r is not None] == [5, 10, 15]
    assert due[4] == 1.0


def test_the_window_is_the_last_ten_samples() -> None:
    clock = SteppedClock()
    meter = FinalsMeter(clock)
    meter.final(0, 2)
    for k in range(10):
        clock.now += 4.0
        meter.final(2 * k + 2, 2 * k + 4)
    for k in range(10):
        clock.now += 2.0
        meter.final(2 * k + 22, 2 * k + 24)
    assert meter.realtime_factor == 1.0


def test_clock_spread_is_the_distance_between_the_sources_last_t1() -> None:
    spread = ClockSpread()
    spread.final("system", 4.0)
    assert spread.spread_ms == 0.0
    spread.final("mic", 2.0)
    spread.final("mic", 4.0)
    assert (spread.spread_ms, spread.max_spread_ms) == (0.0, 2000.0)
