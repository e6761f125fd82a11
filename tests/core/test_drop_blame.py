"""DropBlame: session-wide server drops -> the sources that lost them, stepped by hand (no clock)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from app.core.drop_blame import DropBlame, water_fill


def test_water_fill_shares_above_a_common_level() -> None:
    assert water_fill(40, {"mic": 50, "system": 50}) == {"mic": 20, "system": 20}
    # the system sent less: both consumed 31, only the mic's extra 19 frames overflowed
    assert water_fill(19, {"mic": 50, "system": 31}) == {"mic": 19}
    assert water_fill(30, {"mic": 50, "system": 40}) == {"mic": 20, "system": 10}
    assert water_fill(7, {"mic": 50}) == {"mic": 7}


def test_water_fill_degenerate_inputs() -> None:
    assert water_fill(10, {"mic": 2, "system": 3}) == {"mic": 4, "system": 6}  # not covered: proportional
    assert water_fill(3, {"mic": 0, "system": 0}) in ({"mic": 2, "system": 1}, {"mic": 1, "system": 2})
    assert water_fill(5, {"mic": -4, "system": 0}) in ({"mic": 3, "system": 2}, {"mic": 2, "system": 3})


@given(st.integers(0, 500), st.dictionaries(st.sampled_from("abcd"), st.integers(-5, 400), min_size=1))
def test_water_fill_conserves_and_orders(total: int, inflow: dict[str, int]) -> None:
    shares = water_fill(total, inflow)
    assert sum(shares.values()) == total
    assert all(s > 0 for s in shares.values())
    if sum(max(0, v) for v in inflow.values()) >= total:
        assert all(shares.get(n, 0) <= max(0, v) for n, v in inflow.items())  # nobody loses more than left
    ranked = sorted(inflow, key=lambda n: inflow[n])
    for lower, higher in itertools.pairwise(ranked):
        assert shares.get(lower, 0) <= shares.get(higher, 0) + 1  # more inflow, no fewer drops (rounding)


def full_pass(blame: DropBlame, now: float, total: int, sent: dict[str, int],
              queued: dict[str, int], fills: dict[str, float]) -> dict[str, int]:
    """One server pass: a metrics message per source, mic first; the drop total rides on each."""
    return {
        source: blame.on_metrics(source, now, dropped_total=total, dropped_recent=None,
                                 queued=queued[source], fill=fills[source], sent=sent)
        for source in ("mic", "system")
    }


def test_drops_pinned_on_the_first_source_are_shared_by_both_full_queues() -> None:
    blame = DropBlame()
    full = {"mic": 100, "system": 100}
    assert full_pass(blame, 1.0, 0, {"mic": 150, "system": 150}, full, {"mic": 1.0, "system": 1.0}) == {
        "mic": 0, "system": 0}
    # One second: 50 frames more from each, queues still full, 50 dropped session-wide.
    books = full_pass(blame, 2.0, 50, {"mic": 200, "system": 200}, full, {"mic": 1.0, "system": 1.0})
    assert books == {"mic": 25, "system": 25}  # the system's share waited for its own metrics
    # The system sends at half the rate: both consumed 25 frames, only the mic overflowed.
    books = full_pass(blame, 3.0, 75, {"mic": 250, "system": 225}, full, {"mic": 1.0, "system": 1.0})
    assert books == {"mic": 25, "system": 0}


def test_a_queue_that_is_not_full_takes_no_blame() -> None:
    blame = DropBlame()
    queued = {"mic": 10, "system": 100}
    fills = {"mic": 0.1, "system": 1.0}
    full_pass(blame, 1.0, 0, {"mic": 50, "system": 150}, queued, fills)
    assert full_pass(blame, 2.0, 30, {"mic": 100, "system": 200}, queued, fills) == {"mic": 0, "system": 30}


def test_without_any_full_queue_the_reporting_source_is_blamed() -> None:
    blame = DropBlame()
    assert blame.on_metrics("mic", 1.0, dropped_total=None, dropped_recent=4, queued=3, fill=0.05,
                            sent={"mic": 10}) == 4


def test_drops_wait_for_a_message_that_says_where_the_queue_stands() -> None:
    blame = DropBlame()
    sent = {"system": 100}
    assert blame.on_metrics("system", 1.0, dropped_total=10, dropped_recent=10, queued=None, fill=None,
                            sent=sent) == 0
    assert blame.on_metrics("system", 2.0, dropped_total=10, dropped_recent=0, queued=50, fill=0.5,
                            sent=sent) == 10


def test_new_connection_restarts_the_count() -> None:
    blame = DropBlame()
    blame.on_metrics("mic", 1.0, dropped_total=100, dropped_recent=100, queued=0, fill=0.0, sent={"mic": 200})
    blame.new_connection()
    # the new server session counts from 0 again: a total of 3 is 3 new frames
    assert blame.on_metrics("mic", 2.0, dropped_total=3, dropped_recent=3, queued=0, fill=0.0,
                            sent={"mic": 10}) == 3
