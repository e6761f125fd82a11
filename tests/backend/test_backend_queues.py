"""The per-source queue and the session-wide warning flag (CONTRACT.md sections 5 and 10), with a
stepped clock: faithful mode (the real server's) first, then the ideal mode kept beside it."""

from __future__ import annotations

import pytest

from app.backend.queues import QUEUE_MAX_FRAMES, SessionQueues, SourceQueue

FRAME = bytes(640)
MAX = 64_000  # 100 frames


class SteppedClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fill(q: SessionQueues, source: str, frames: int) -> list[str]:
    """Put ``frames`` frames; return the warning states produced, in order."""
    states: list[str] = []
    for _ in range(frames):
        states += [w.state for w in q.put(source, FRAME)]
    return states


def drain(q: SessionQueues, source: str, frames: int) -> None:
    for _ in range(frames):
        assert q.queue(source).pop() is not None


def tick_states(q: SessionQueues) -> list[tuple[str, str]]:
    return [(s.source, s.warning.state) for s in q.tick() if s.warning is not None]


def two_sources(faithful: bool = True) -> SessionQueues:
    q = SessionQueues(MAX, SteppedClock(), faithful=faithful)
    assert q.admit("system") and q.admit("mic")
    return q


# --------------------------------------------------------------------------- the queue itself


def test_put_drops_oldest_items_to_stay_within_the_byte_cap() -> None:
    q = SourceQueue(3 * 640)
    for marker in b"abc":
        assert q.put(bytes([marker]) * 640).dropped_items == 0
    result = q.put(b"d" * 640)
    assert (result.dropped_items, result.dropped_bytes, result.backlog_bytes) == (1, 640, 2 * 640)
    assert q.queue_bytes == 3 * 640 and q.depth == 3
    assert [item[:1] for _, item in q.take(10_000)] == [b"b", b"c", b"d"]  # "a", the oldest, went
    assert q.queue_bytes == 0


def test_items_remember_where_they_start_in_the_received_stream() -> None:
    q = SourceQueue(2 * 640)
    for _ in range(3):
        q.put(FRAME)  # the third drops the first
    assert q.received_bytes == 3 * 640
    assert q.pop() == (640, FRAME) and q.pop() == (1280, FRAME) and q.pop() is None


def test_a_big_item_drops_as_many_old_items_as_it_needs() -> None:
    q = SourceQueue(4 * 640)
    for _ in range(4):
        q.put(FRAME)
    result = q.put(bytes(3 * 640))
    assert (result.dropped_items, result.dropped_bytes) == (3, 3 * 640)
    assert q.queue_bytes == 4 * 640 and q.depth == 2


def test_item_larger_than_the_queue_is_refused() -> None:
    with pytest.raises(ValueError):
        SourceQueue(640).put(bytes(642))


def test_take_pops_whole_items_up_to_the_limit_but_at_least_one() -> None:
    q = SourceQueue(MAX)
    for _ in range(10):
        q.put(FRAME)
    assert sum(len(item) for _, item in q.take(3200)) == 3200  # five frames
    assert [len(item) for _, item in q.take(100)] == [640]  # never splits, never empty while queued
    assert q.depth == 4 and q.queue_bytes == 4 * 640


def test_item_count_is_capped_and_the_newcomer_is_discarded() -> None:
    q = SourceQueue(10**9)
    for k in range(QUEUE_MAX_FRAMES):
        q.put(k.to_bytes(2, "big"))
    dropped = sum(q.put(b"xx").dropped_items for _ in range(7))
    assert q.depth == QUEUE_MAX_FRAMES and dropped == 7
    assert q.pop() == (0, (0).to_bytes(2, "big"))  # the old items stay, as on the real server


# --------------------------------------------------------------------------- faithful warnings


def test_backpressure_carries_the_session_total_and_the_size_of_this_one_drop() -> None:
    q = two_sources()
    assert fill(q, "system", 100) == []  # full, nothing dropped yet: puts never warn about fill
    [w] = q.put("system", FRAME)
    assert (w.state, w.source, w.dropped_frames, w.dropped_seconds, w.backlog_seconds) == (
        "backpressure", "system", 1, 0.02, 1.98)
    assert fill(q, "system", 50) == []  # the flag is set: silence while dropping
    assert q.dropped_total == 51


def test_the_tick_sends_overloaded_once_and_buffering_every_time() -> None:
    q = SessionQueues(MAX, SteppedClock())
    q.admit("system")
    fill(q, "system", 90)  # 90 %: buffering, which does not set the flag
    assert tick_states(q) == [("system", "buffering")]
    assert tick_states(q) == [("system", "buffering")]
    fill(q, "system", 6)  # 96 %
    assert tick_states(q) == [("system", "overloaded")]
    assert tick_states(q) == []  # flag set: neither overloaded nor buffering until re-armed
    drain(q, "system", 30)  # 66 %
    assert tick_states(q) == [] and not q.warned  # re-armed at this tick
    fill(q, "system", 25)  # 91 %
    assert tick_states(q) == [("system", "buffering")]


def test_thresholds_are_strict_on_the_unrounded_fill() -> None:
    q = SessionQueues(MAX, SteppedClock())
    q.admit("system")
    fill(q, "system", 85)  # exactly 0.85: not above it
    assert tick_states(q) == []
    fill(q, "system", 10)  # exactly 0.95: buffering, not overloaded
    assert tick_states(q) == [("system", "buffering")]


def test_the_flag_is_rearmed_only_at_a_tick_below_70_percent() -> None:
    q = SessionQueues(MAX, SteppedClock())
    q.admit("system")
    fill(q, "system", 101)
    assert q.warned
    drain(q, "system", 25)  # 75 %: not low enough
    q.tick()
    assert fill(q, "system", 30) == []  # drops again, no new warning
    drain(q, "system", 31)  # 69 %
    assert q.warned  # a put or a pull never re-arms
    q.tick()
    assert not q.warned
    assert fill(q, "system", 32) == ["backpressure"]


def test_a_healthy_second_source_rearms_the_flag_every_tick() -> None:
    """The quirk behind repeated backpressure: the healthy mic (empty queue) clears the shared flag at
    every tick, so the overloaded system source's next drop raises backpressure again."""
    q = two_sources()
    fill(q, "system", 100)
    repeated = []
    for _ in range(3):
        q.tick()
        repeated.append(fill(q, "system", 50))  # every put drops now
    assert repeated == [["backpressure"]] * 3
    assert [w.dropped_frames for w in q.put("system", FRAME)] == []


def test_warnings_go_before_that_sources_metrics_in_order_of_first_audio() -> None:
    q = two_sources()
    fill(q, "mic", 97)
    fill(q, "system", 90)
    stats = q.tick()
    assert [(s.source, s.warning.state if s.warning else None) for s in stats] == [
        ("system", "buffering"), ("mic", "overloaded")]


def test_dropped_recent_goes_to_the_first_source_of_the_tick() -> None:
    q = two_sources()
    fill(q, "mic", 103)  # three drops, all on mic
    first = q.tick()
    assert [(s.source, s.dropped_recent, s.dropped_total) for s in first] == [("system", 3, 3), ("mic", 0, 3)]
    assert [s.dropped_recent for s in q.tick()] == [0, 0]


def test_tick_reports_unrounded_queue_numbers() -> None:
    q = SessionQueues(MAX, SteppedClock())
    q.admit("system")
    fill(q, "system", 97)
    [s] = q.tick()
    assert (s.queue_bytes, s.queue_bytes_max, s.fill_ratio, s.backlog_seconds) == (62080, MAX, 0.97, 1.94)
    assert (s.queue_depth, s.queue_max_frames) == (97, 500)


def test_a_third_source_is_not_admitted() -> None:
    q = two_sources()
    assert q.admit("system")
    assert not q.admit("speaker")
    assert q.sources == ("system", "mic")


# --------------------------------------------------------------------------- ideal mode
# Kept because ``fidelity="ideal"`` still exists for tests that need idealised consumption; these
# pin down what that mode does, which is NOT what the real server does.


def test_ideal_buffering_is_sent_from_puts_every_second_while_85_to_95_percent_full() -> None:
    clock = SteppedClock()
    q = SessionQueues(MAX, clock, faithful=False)
    q.admit("system")
    assert fill(q, "system", 84) == []
    assert fill(q, "system", 1) == ["buffering"]  # 85 %
    assert fill(q, "system", 5) == []  # within the same second
    clock.now += 1.0
    assert fill(q, "system", 1) == ["buffering"]
    assert all(s.warning is None for s in q.tick())  # the tick only re-arms


def test_ideal_overloaded_then_backpressure_with_the_total_in_seconds() -> None:
    q = two_sources(faithful=False)
    assert fill(q, "system", 96) == ["buffering", "overloaded"]
    q.tick()  # mic empty: re-armed
    [w] = q.put("system", bytes(5 * 640))  # drops
    assert (w.state, w.dropped_frames, w.dropped_seconds) == ("backpressure", 1, 0.02)
    q.tick()
    [w] = q.put("system", bytes(3 * 640))
    assert (w.state, w.dropped_frames, w.dropped_seconds) == ("backpressure", 4, 0.08)  # a running total
