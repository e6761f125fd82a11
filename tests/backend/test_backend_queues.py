"""The per-source queue and the session-wide warning flag (CONTRACT.md section 5), with a stepped clock."""

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


def test_put_drops_oldest_chunks_to_stay_within_the_byte_cap() -> None:
    q = SourceQueue(3 * 640)
    for marker in b"abc":
        assert q.put(bytes([marker]) * 640) == (0, 0)
    assert q.put(b"d" * 640) == (1, 640)
    assert q.queue_bytes == 3 * 640 and q.depth == 3
    assert q.take(10_000) == b"b" * 640 + b"c" * 640 + b"d" * 640  # "a", the oldest, was dropped
    assert q.queue_bytes == 0


def test_a_big_chunk_drops_as_many_old_chunks_as_it_needs() -> None:
    q = SourceQueue(4 * 640)
    for _ in range(4):
        q.put(FRAME)
    assert q.put(bytes(3 * 640)) == (3, 3 * 640)
    assert q.queue_bytes == 4 * 640 and q.depth == 2


def test_chunk_larger_than_the_queue_is_refused() -> None:
    with pytest.raises(ValueError):
        SourceQueue(640).put(bytes(642))


def test_take_pops_whole_chunks_up_to_the_limit_but_at_least_one() -> None:
    q = SourceQueue(MAX)
    for _ in range(10):
        q.put(FRAME)
    assert len(q.take(3200)) == 3200  # five frames
    assert len(q.take(100)) == 640  # never splits a chunk, never returns nothing while queued
    assert q.depth == 4 and q.queue_bytes == 4 * 640


def test_chunk_count_is_capped_too() -> None:
    q = SourceQueue(10**9)
    dropped = sum(q.put(b"xx")[0] for _ in range(QUEUE_MAX_FRAMES + 7))
    assert q.depth == QUEUE_MAX_FRAMES and dropped == 7


def test_buffering_is_sent_every_second_while_85_to_95_percent_full() -> None:
    clock = SteppedClock()
    q = SessionQueues(MAX, clock)
    assert q.admit("system")
    assert fill(q, "system", 84) == []
    assert fill(q, "system", 1) == ["buffering"]  # 85 %
    assert fill(q, "system", 5) == []  # within the same second
    clock.now += 1.0
    assert fill(q, "system", 1) == ["buffering"]
    q.take("system", 20 * 640)  # back to 71 %: quiet
    clock.now += 1.0
    assert fill(q, "system", 1) == []
    warning = q.put("system", FRAME)  # nothing (still below 85 %) ...
    assert warning == []


def test_buffering_message_carries_source_and_backlog() -> None:
    q = SessionQueues(MAX, SteppedClock())
    q.admit("mic")
    fill(q, "mic", 84)
    [w] = q.put("mic", FRAME)
    assert (w.state, w.source, w.backlog_seconds, w.fill_ratio) == ("buffering", "mic", 1.7, 0.85)


def test_overloaded_once_per_episode_then_silent_until_rearmed() -> None:
    clock = SteppedClock()
    q = SessionQueues(MAX, clock)
    q.admit("system")
    states = fill(q, "system", 96)
    assert states == ["buffering", "overloaded"]  # 85 % then 96 %
    clock.now += 5
    assert fill(q, "system", 200) == []  # drops keep happening, the flag keeps them quiet
    assert q.dropped_total == 196


def test_backpressure_reports_session_totals_when_the_flag_is_clear() -> None:
    q = SessionQueues(MAX, SteppedClock())
    q.admit("system")
    q.admit("mic")
    [w] = q.put("system", bytes(MAX))  # one big chunk: 100 % full
    assert w.state == "overloaded" and q.warned
    q.tick()  # mic is empty (< 70 %): re-armed
    [w] = q.put("system", FRAME)  # drops the big chunk
    assert w.state == "backpressure"
    assert (w.dropped_frames, w.dropped_seconds, w.backlog_seconds) == (1, 2.0, 0.02)
    assert q.put("mic", FRAME) == []  # the flag is session-wide


def test_one_source_rearms_only_after_falling_below_70_percent_at_a_tick() -> None:
    clock = SteppedClock()
    q = SessionQueues(MAX, clock)
    q.admit("system")
    assert "overloaded" in fill(q, "system", 100)
    q.take("system", 25 * 640)  # 75 %: not low enough
    q.tick()
    assert fill(q, "system", 30) == []  # drops again, but no new warning
    q.take("system", 31 * 640)  # 69 %
    assert fill(q, "system", 0) == []
    q.tick()  # the re-arm happens here, not at the put
    assert not q.warned
    clock.now += 1
    assert fill(q, "system", 31) == ["buffering", "overloaded"]


def test_a_healthy_second_source_rearms_the_flag_every_tick() -> None:
    """The quirk: with two sources, the healthy one re-arms the shared flag every second, so the
    overloaded source's drops produce a backpressure status after every tick."""
    clock = SteppedClock()
    q = SessionQueues(MAX, clock)
    q.admit("system")
    q.admit("mic")  # empty queue: always below 70 %
    assert fill(q, "system", 100) == ["buffering", "overloaded"]
    repeated = []
    for _ in range(3):
        clock.now += 1
        q.tick()
        repeated.append(fill(q, "system", 50))  # every put drops now
    assert repeated == [["backpressure"]] * 3


def test_a_third_source_is_not_admitted() -> None:
    q = SessionQueues(MAX, SteppedClock())
    assert q.admit("system") and q.admit("mic") and q.admit("system")
    assert not q.admit("speaker")
    assert q.sources == ("system", "mic")


def test_dropped_recent_goes_to_the_first_source_of_the_tick() -> None:
    q = SessionQueues(MAX, SteppedClock())
    q.admit("system")
    q.admit("mic")
    fill(q, "mic", 103)  # three drops, all on mic
    first = q.tick()
    assert [(s.source, s.dropped_recent, s.dropped_total) for s in first] == [("system", 3, 3), ("mic", 0, 3)]
    second = q.tick()
    assert [s.dropped_recent for s in second] == [0, 0]


def test_tick_reports_queue_numbers() -> None:
    q = SessionQueues(MAX, SteppedClock())
    q.admit("system")
    fill(q, "system", 97)
    [s] = q.tick()
    assert (s.queue_bytes, s.queue_bytes_max, s.fill_ratio, s.backlog_seconds) == (62080, MAX, 0.97, 1.94)
    assert (s.queue_depth, s.queue_max_frames) == (97, 500)
