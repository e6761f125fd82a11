"""The overload benchmark's pure analysis: intervals, provenance, lag, recovery, timestamp errors."""

from __future__ import annotations

import numpy as np
import pytest

from app.bench import overload_analysis as oa

RATE = 16_000


def flat(intervals: list[oa.Interval]) -> list[float]:
    return [x for iv in intervals for x in iv]


def test_merge_sorts_joins_overlaps_and_close_gaps_and_drops_empty_intervals() -> None:
    assert oa.merge([(3.0, 4.0), (0.0, 1.0), (0.5, 2.0), (5.0, 5.0)]) == [(0.0, 2.0), (3.0, 4.0)]
    assert oa.merge([(0.0, 1.0), (1.1, 2.0), (2.5, 3.0)], gap=0.15) == [(0.0, 2.0), (2.5, 3.0)]


def test_intersection_and_total() -> None:
    speech = [(0.0, 1.0), (2.0, 4.0)]
    kept = [(0.5, 2.5), (3.0, 10.0)]
    assert oa.intersection(speech, kept) == [(0.5, 1.0), (2.0, 2.5), (3.0, 4.0)]
    assert oa.total(oa.intersection(speech, kept)) == pytest.approx(2.0)
    assert oa.total([]) == 0.0 and oa.intersection([], kept) == []


def test_frame_intervals_join_consecutive_frames_only() -> None:
    assert flat(oa.frame_intervals([0.0, 0.02, 0.04, 0.1])) == pytest.approx([0.0, 0.06, 0.1, 0.12])


def test_speech_intervals_merge_short_pauses_and_split_long_ones() -> None:
    samples = np.zeros(3 * RATE, dtype=np.int16)
    tone = (8000 * np.sin(np.arange(RATE) * 2 * np.pi * 200 / RATE)).astype(np.int16)
    for start, end in [(0.5, 1.0), (1.1, 1.4), (2.0, 2.5)]:  # 100 ms pause: merged; 600 ms: split
        samples[int(start * RATE) : int(end * RATE)] = tone[: int(end * RATE) - int(start * RATE)]
    got = oa.speech_intervals(samples, RATE)
    assert flat(got) == pytest.approx([0.5, 1.4, 2.0, 2.5], abs=0.011)


def _frames(n: int) -> list[bytes]:
    rng = np.random.default_rng(1)
    return [rng.integers(-100, 100, 320, dtype=np.int16).tobytes() for _ in range(n)]


def test_received_frames_follow_provenance_ranges_and_locate_by_content() -> None:
    frames = _frames(5)
    captured = {pcm: 10.0 + 0.02 * k for k, pcm in enumerate(frames)}
    received = frames[0] + frames[1] + frames[3] + frames[4] + bytes(640)  # frame 2 never sent; junk last
    ranges = [(0, 1280, 11.0, 0), (1280, 1920, 12.0, 1)]  # received frame 3 (captured 4), junk dropped
    got = oa.received_frames(received, ranges, captured.get)
    assert [f.capture for f in got] == pytest.approx([10.0, 10.02, 10.06, 10.08, None])
    assert [f.consumed for f in got] == [11.0, 11.0, 12.0, None, None]
    assert [f.chunk for f in got] == [0, 0, 1, None, None]
    assert oa.frames_beyond(len(received), [*ranges, (3200, 4480, 13.0, 2)]) == 2  # cut off by a kill


def test_a_dropped_frame_stops_being_pending_when_the_next_frame_is_consumed() -> None:
    frames = [oa.ReceivedFrame(0.0, 1.0), oa.ReceivedFrame(0.02, None), oa.ReceivedFrame(0.04, 2.0),
              oa.ReceivedFrame(0.06, None)]
    assert oa.resolved_times(frames, end=9.0) == [1.0, 2.0, 2.0, 9.0]


def test_lag_is_the_age_of_the_oldest_pending_frame() -> None:
    # 2 s of frames, each consumed exactly 1 s after its capture: lag settles at 1 s (minus one frame)
    frames = [oa.ReceivedFrame(0.02 * k, 0.02 * k + 1.0) for k in range(100)]
    lag = oa.lag_series(frames, [0.01, 0.5, 1.51, 2.91, 3.5], end=3.0)
    assert lag == pytest.approx([0.01, 0.5, 0.99, 0.99, 0.0], abs=1e-6)


def test_frames_never_sent_are_not_pending() -> None:
    # frames 1-49 were skipped by the client: only frame 0 and 50.. reached the backend
    later = [oa.ReceivedFrame(0.02 * k, 0.02 * k + 0.05) for k in range(50, 60)]
    frames = [oa.ReceivedFrame(0.0, 0.05), *later]
    assert oa.lag_series(frames, [0.5], end=2.0) == [0.0]


def test_recovery_is_measured_until_the_lag_stays_below_the_threshold() -> None:
    grid = [float(t) for t in range(10)]
    lag = [0.0, 0.0, 2.0, 3.0, 0.2, 1.0, 0.3, 0.1, 0.1, 0.1]
    assert oa.recovery_seconds(grid, lag, after=3.0, threshold=0.5) == pytest.approx(3.0)  # good from t=6
    assert oa.recovery_seconds(grid, lag, after=6.0, threshold=0.5) == 0.0
    assert oa.recovery_seconds(grid, [*lag[:-1], 0.9], after=3.0, threshold=0.5) is None


def test_edge_errors_compare_with_the_hull_of_overlapped_speech_else_the_nearest_interval() -> None:
    speech = [(1.0, 2.0), (2.2, 3.0), (5.0, 6.0)]
    assert oa.edge_errors((1.1, 2.9), speech) == pytest.approx((0.1, 0.1))  # spans a short pause
    assert oa.edge_errors((3.4, 4.0), speech) == pytest.approx((1.2, 1.0))  # in silence: nearest is 2.2-3.0
    assert oa.edge_errors((0.0, 1.0), []) is None


def test_stats_and_time_in_levels() -> None:
    assert oa.stats([0.1, 0.2, 0.3, 0.4]) == {"median": 0.25, "p90": 0.37, "max": 0.4, "count": 4}
    assert oa.stats([])["median"] is None
    changes = [(-0.1, "unknown"), (0.5, "normal"), (3.0, "overloaded"), (7.0, "normal")]
    assert oa.time_in_levels(changes, 0.0, 10.0) == {"unknown": 0.5, "normal": 5.5, "overloaded": 4.0}


def test_per_second_max_bins_a_timeline() -> None:
    assert oa.per_second_max([0.0, 0.5, 1.0, 1.5], [0.1, 0.3, 2.0, 1.0]) == [[0.0, 0.3], [1.0, 2.0]]


def test_captures_select_all_consumed_or_dropped_traced_frames() -> None:
    frames = [oa.ReceivedFrame(1.0, 5.0), oa.ReceivedFrame(1.02, None), oa.ReceivedFrame(None, 6.0)]
    assert oa.captures(frames) == [1.0, 1.02]
    assert oa.captures(frames, consumed=True) == [1.0]
    assert oa.captures(frames, consumed=False) == [1.02]


def test_server_time_maps_exactly_through_skipped_or_dropped_audio() -> None:
    # the recognizer consumed frames captured at 0.00-0.08 s, then (after a gap) from 5.00 s on
    consumed = [0.0, 0.02, 0.04, 0.06, 0.08, 5.0, 5.02, 5.04]
    assert oa.server_to_capture(consumed, 0.03) == pytest.approx(0.03)
    assert oa.server_to_capture(consumed, 0.1) == pytest.approx(5.0)  # a start edge: the next frame
    assert oa.server_to_capture(consumed, 0.1, end=True) == pytest.approx(0.1)  # an end edge: the last one
    assert oa.server_to_capture(consumed, 0.13) == pytest.approx(5.03)
    assert oa.server_to_capture([], 1.0) is None


def test_timing_errors_measure_against_the_speech_a_segment_really_is() -> None:
    consumed = [0.02 * k for k in range(50)] + [3.0 + 0.02 * k for k in range(50)]  # 2 s gap after 1 s
    speech = [(0.1, 0.9), (1.2, 1.9), (3.2, 3.9)]
    server = [(0.12, 0.9), (1.2, 1.9)]  # the second final is the audio captured at 3.2-3.9
    shown = [(0.12, 0.9), (1.2, 1.9)]  # a client that forgot the gap shows it 2 s early...
    got = oa.timing_errors(shown, server, consumed, speech)
    assert got is not None
    assert got.mapping == pytest.approx([0.0, 0.0, 2.0, 2.0])
    assert got.recognizer == pytest.approx([0.02, 0.0, 0.0, 0.0])
    assert got.shown == pytest.approx([0.02, 0.0, 2.0, 2.0])
    # ...where other speech happens to be: the nearest-interval comparison cannot see the mistake
    assert oa.edge_errors(shown[1], speech) == pytest.approx((0.0, 0.0))
    # the client receives a prefix of the server's finals: one shown segment pairs with the first
    prefix = oa.timing_errors(shown[:1], server, consumed, speech)
    assert prefix is not None and prefix.mapping == pytest.approx([0.0, 0.0])
    assert oa.timing_errors([], server, consumed, speech) is None  # nothing to pair


def test_fates_of_a_dead_connection_keep_what_the_client_saw_transcribed_and_the_rest_in_transit() -> None:
    # chunk 0 consumed and its finals shown; frame 2 dropped between consumed frames; chunk 1 consumed
    # but its finals never reached the client; the last frame still queued when the connection died
    frames = [oa.ReceivedFrame(0.0, 1.0, 0), oa.ReceivedFrame(0.02, 1.0, 0), oa.ReceivedFrame(0.04, None),
              oa.ReceivedFrame(0.06, 2.0, 1), oa.ReceivedFrame(0.08, None)]
    delivered = oa.delivered_chunks([[(0.0, 0.04)], [(0.06, 0.08)]], received_finals=1, complete=False)
    assert delivered == 1
    fates = oa.copy_fates(frames, delivered, complete=False, ended=5.0)
    assert [f for f, _ in fates] == [oa.TRANSCRIBED, oa.TRANSCRIBED, oa.SERVER_DROP, oa.IN_TRANSIT,
                                     oa.IN_TRANSIT]
    assert [t for _, t in fates] == [1.0, 1.0, 2.0, 2.0, 5.0]
    # the same connection completed (its summary came): everything delivered, the tail was dropped
    done = oa.copy_fates(frames, oa.delivered_chunks([[], []], 0, complete=True), complete=True, ended=5.0)
    assert [f for f, _ in done] == [oa.TRANSCRIBED] * 2 + [oa.SERVER_DROP, oa.TRANSCRIBED, oa.SERVER_DROP]


def test_catch_up_starts_when_the_held_audio_falls_below_its_peak_after_the_backend_drains() -> None:
    times = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    held = [1.0, 3.0, 5.0, 5.5, 5.2, 4.0]
    assert oa.catch_up_start(times, held, drains_at=2.0) == pytest.approx(2.0)  # 5.5 -> 5.2 at t=4
    assert oa.catch_up_start(times, [0.0] * 6, drains_at=2.0) is None  # nothing held: nothing to catch up
    assert oa.catch_up_start(times, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], drains_at=1.0) is None  # never shrank


def test_a_frame_resent_after_a_reconnect_is_resolved_by_its_first_transcribed_copy() -> None:
    copies = [(1.0, oa.TRANSCRIBED, 1.5), (1.0, oa.TRANSCRIBED, 30.0),  # resent, already transcribed
              (2.0, oa.IN_TRANSIT, 20.0), (2.0, oa.TRANSCRIBED, 31.0),  # lost with the dead connection
              (3.0, oa.SERVER_DROP, 3.5), (4.0, oa.IN_TRANSIT, 20.0), (4.0, oa.IN_TRANSIT, 25.0)]
    assert sorted(oa.first_resolutions(copies)) == [(1.0, 1.5), (2.0, 31.0), (3.0, 3.5), (4.0, 25.0)]
