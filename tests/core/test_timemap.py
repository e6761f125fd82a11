"""TimeMap: sent position -> capture time, per source, through jumps and a slewed capture clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.core.timemap import TimeMap


@dataclass(frozen=True)
class Sent:
    source: str
    capture_time: float
    index: int


def send(m: TimeMap, source: str, indices: list[int] | range, t0: float = 10.0) -> None:
    for i in indices:
        m.record_sent(Sent(source, t0 + i * 0.02, i))


def test_nothing_sent_maps_to_none() -> None:
    assert TimeMap().capture_time("mic", 3.0) is None
    assert TimeMap().start_time() is None


def test_contiguous_frames_map_exactly() -> None:
    m = TimeMap()
    send(m, "mic", range(100))
    assert m.capture_time("mic", 0) == pytest.approx(10.0)
    assert m.capture_time("mic", 50.5) == pytest.approx(11.01)
    assert m.start_time() == pytest.approx(10.0) and m.sent_frames("mic") == 100


def test_skipped_frames_are_jumped_over() -> None:
    m = TimeMap()
    send(m, "mic", [*range(0, 10), *range(30, 40)])  # 20 frames of silence skipped
    assert m.capture_time("mic", 9) == pytest.approx(10.18)
    assert m.capture_time("mic", 10) == pytest.approx(10.6)  # the 11th frame sent is frame 30


def test_positions_beyond_what_was_sent_are_clamped() -> None:
    m = TimeMap()
    send(m, "mic", range(10))
    assert m.capture_time("mic", 50) == pytest.approx(10.2)  # the end of the last frame sent
    assert m.capture_time("mic", -3) == pytest.approx(10.0)


def test_a_slewed_capture_clock_is_followed_frame_by_frame() -> None:
    m = TimeMap()
    times = [10.0 + i * 0.02 - (0.001 * max(0, i - 5)) for i in range(10)]
    for i, t in enumerate(times):
        m.record_sent(Sent("mic", t, i))
    for i, t in enumerate(times):
        assert m.capture_time("mic", i) == pytest.approx(t)


def test_capture_time_jump_without_index_gap_starts_a_run() -> None:
    m = TimeMap()
    m.record_sent(Sent("mic", 10.0, 0))
    m.record_sent(Sent("mic", 15.0, 1))  # a resend after a reconnect, or a clock step
    assert m.capture_time("mic", 1) == pytest.approx(15.0)


def test_sources_are_separate() -> None:
    m = TimeMap()
    send(m, "mic", range(5), t0=1.0)
    send(m, "system", range(5), t0=2.0)
    assert m.capture_time("mic", 1) == pytest.approx(1.02)
    assert m.capture_time("system", 1) == pytest.approx(2.02)
    assert m.start_time() == pytest.approx(1.0)
