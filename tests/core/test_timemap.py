"""TimeMap: server t0/t1 (processed audio) back to capture time, through skips and server drops."""

from __future__ import annotations

import pytest

from app.core.framing import Frame
from app.core.messages import Source
from app.core.timemap import TimeMap


def frame(index: int, t0: float = 100.0, source: Source = Source.MIC) -> Frame:
    return Frame(source, bytes(640), t0 + index * 0.02, index)


def test_nothing_sent_maps_to_none() -> None:
    tm = TimeMap()
    assert tm.to_capture_time("mic", 1.0) is None
    tm.record_sent(frame(0))
    assert tm.to_capture_time("system", 1.0) is None


def test_contiguous_frames_map_exactly() -> None:
    tm = TimeMap()
    for i in range(500):
        tm.record_sent(frame(i))
    assert tm.to_capture_time("mic", 0.0) == pytest.approx(100.0)
    assert tm.to_capture_time("mic", 3.37) == pytest.approx(103.37)
    assert tm.to_capture_time("mic", -1.0) == pytest.approx(100.0)


def test_skipped_frames_are_jumped_over() -> None:
    tm = TimeMap()
    sent = [*range(0, 50), *range(150, 200), *range(400, 450)]  # 2 s and 4 s of silence skipped
    for i in sent:
        tm.record_sent(frame(i))
    assert tm.to_capture_time("mic", 0.5) == pytest.approx(100.5)
    assert tm.to_capture_time("mic", 1.0) == pytest.approx(103.0)  # first frame after the first gap
    assert tm.to_capture_time("mic", 1.5) == pytest.approx(103.5)
    assert tm.to_capture_time("mic", 2.2) == pytest.approx(108.2)


def test_a_slewed_capture_clock_is_followed_frame_by_frame() -> None:
    """The framer slews a backwards clock correction at 1 ms a frame (MIN_FRAME_SPACING): the map
    follows the frames' own capture times, not the timeline of the run before the correction."""
    tm = TimeMap()
    times = [100.04 + i * 0.02 for i in range(50)]  # 40 ms late
    for j in range(45):  # then 19 ms steps until the true timeline (100.0 + i * 0.02) is reached
        times.append(max(times[-1] + 0.019, 100.0 + (50 + j) * 0.02))
    for i, t in enumerate(times):
        tm.record_sent(Frame(Source.MIC, bytes(640), t, i))
    for i in (10, 55, 70, 94):
        assert tm.to_capture_time("mic", i * 0.02) == pytest.approx(times[i])


def test_capture_time_jump_without_index_gap_starts_a_run() -> None:
    tm = TimeMap()
    for i in range(10):
        tm.record_sent(Frame(Source.MIC, bytes(640), 100.0 + i * 0.02, i))
    for i in range(10, 20):  # the device restarted: same indices continue, the clock jumped 5 s
        tm.record_sent(Frame(Source.MIC, bytes(640), 105.0 + i * 0.02, i))
    assert tm.to_capture_time("mic", 0.2) == pytest.approx(105.2)
    assert tm.to_capture_time("mic", 0.1) == pytest.approx(100.1)


def test_server_drops_are_spread_over_the_frames_that_left_the_queue() -> None:
    tm = TimeMap()
    for i in range(100):
        tm.record_sent(frame(i))
    tm.record_server_drops("mic", dropped_frames=0, queued_frames=50)  # 50 processed, 50 queued
    for i in range(100, 200):
        tm.record_sent(frame(i))
    # Since then 100 more frames left the queue (50 remain queued): 50 processed, 50 dropped.
    tm.record_server_drops("mic", dropped_frames=50, queued_frames=50)
    assert tm.to_capture_time("mic", 0.9) == pytest.approx(100.9)  # before the drops: exact
    # processed frame 50 + k maps to sent frame 50 + 2 k (one of every two frames processed)
    assert tm.to_capture_time("mic", (50 + 20) * 0.02) == pytest.approx(100.0 + (50 + 40) * 0.02)
    # after the span: exact again, shifted by the 50 dropped frames
    assert tm.to_capture_time("mic", 120 * 0.02) == pytest.approx(100.0 + 170 * 0.02)


def test_drops_beyond_what_left_the_queue_are_clamped() -> None:
    tm = TimeMap()
    for i in range(10):
        tm.record_sent(frame(i))
    tm.record_server_drops("mic", dropped_frames=500, queued_frames=0)  # inconsistent attribution
    tm.record_server_drops("mic", dropped_frames=3, queued_frames=999)  # queue larger than sent
    assert tm.to_capture_time("mic", 0.0) == pytest.approx(100.0 + 10 * 0.02)


def test_sources_and_connections_are_separate() -> None:
    tm = TimeMap()
    tm.record_sent(frame(0, 100.0, Source.MIC))
    tm.record_sent(frame(0, 200.0, Source.SYSTEM))
    assert tm.to_capture_time("mic", 0.0) == 100.0
    assert tm.to_capture_time("system", 0.0) == 200.0
    assert tm.sent_frames("mic") == 1
    tm.new_connection()
    assert tm.to_capture_time("mic", 0.0) is None
    tm.record_sent(frame(7, 100.0, Source.MIC))
    assert tm.to_capture_time("mic", 0.0) == pytest.approx(100.14)
