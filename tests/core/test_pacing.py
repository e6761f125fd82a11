"""Pacing: absolute deadlines, bounded catch-up, drop-oldest client buffer. The clock is stepped."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.core.pacing import SendPacer, SourceBuffer


@dataclass(frozen=True)
class F:
    capture_time: float
    index: int


def drain(
    pacer: SendPacer,
    buffer: SourceBuffer[F],
    now: float,
    until: float,
    arrivals: dict[int, float],
    step: float = 0.001,
) -> list[tuple[float, int]]:
    """Step a fake clock; frames arrive at their scheduled times; send whatever is due."""
    sent: list[tuple[float, int]] = []
    pending = sorted(arrivals.items(), key=lambda kv: kv[1])
    t = now
    while t < until:
        while pending and pending[0][1] <= t:
            index, at = pending.pop(0)
            buffer.push(F(at, index))
        while len(buffer) and pacer.due(t, len(buffer)) <= t:
            sent.append((t, buffer.pop().index))
            pacer.sent()
        t = round(t + step, 9)
    return sent


def test_available_frames_go_at_exactly_real_time_by_absolute_deadlines() -> None:
    pacer = SendPacer(catchup_after_seconds=1e9)  # never catch up: pure 1x schedule
    t0 = 100.0
    deadlines = [pacer.due(t0, 3) for _ in range(1)]
    for k in range(1, 180_001):  # one hour of frames
        pacer.sent()
        deadlines.append(pacer.due(t0 + k * 0.02, 3))
    assert deadlines[0] == t0
    assert deadlines[-1] == pytest.approx(t0 + 180_000 * 0.02, abs=1e-9)  # no drift after an hour


def test_backlog_drains_at_the_catch_up_rate_then_returns_to_real_time() -> None:
    buffer: SourceBuffer[F] = SourceBuffer(30.0)
    pacer = SendPacer(catchup_rate=2.0, catchup_after_seconds=0.1)
    # 1 s of audio captured before the ack (t=0..1), then live frames every 20 ms
    arrivals = {k: k * 0.02 for k in range(0, 250)}
    for k in range(50):
        buffer.push(F(k * 0.02, k))
    sent = drain(pacer, buffer, 1.0, 5.0, {k: t for k, t in arrivals.items() if k >= 50})
    times = dict((i, t) for t, i in sent)
    # during catch-up frames go out every 10 ms (2x), never faster (the fake clock ticks every 1 ms)
    gaps = [times[k + 1] - times[k] for k in range(0, 60)]
    assert min(gaps) >= 0.009 - 1e-9
    assert max(gaps) <= 0.011 + 1e-9
    assert times[60] - times[0] == pytest.approx(0.6, abs=0.0015)
    # the 1 s backlog is gone after about 2 s (1 s of backlog at net 1x surplus), lag then stays small
    lag_late = [times[k] - k * 0.02 for k in range(150, 249)]
    assert max(lag_late) < 0.03
    assert pacer.rate == 1.0


def test_live_frames_arriving_late_are_sent_on_arrival_without_bursting() -> None:
    buffer: SourceBuffer[F] = SourceBuffer(30.0)
    pacer = SendPacer()
    # device clock 1 % slower than ours: frames arrive progressively later than a 1x schedule
    arrivals = {k: k * 0.0202 for k in range(200)}
    sent = drain(pacer, buffer, 0.0, 4.1, arrivals)
    lags = [t - arrivals[i] for t, i in sent]
    assert len(sent) == 200
    assert max(lags) < 0.002  # sent as it arrives, never held


def test_source_faster_than_real_time_cannot_build_up_permanent_lag() -> None:
    buffer: SourceBuffer[F] = SourceBuffer(30.0)
    pacer = SendPacer(catchup_after_seconds=0.1)
    arrivals = {k: k * 0.0198 for k in range(3000)}  # device 1 % fast: 1x would lag 0.6 s after 60 s
    sent = drain(pacer, buffer, 0.0, 60.0, arrivals, step=0.002)
    lags = [t - arrivals[i] for t, i in sent]
    assert max(lags) < 0.15  # bounded by the catch-up threshold, not growing with time


def test_hurry_flushes_at_catch_up_rate_even_for_a_small_tail() -> None:
    pacer = SendPacer(catchup_rate=2.0)
    first = pacer.due(10.0, 2, hurry=True)
    pacer.sent()
    second = pacer.due(10.0, 1, hurry=True)
    assert first == 10.0 and second == pytest.approx(10.01)


def test_reset_reanchors_for_a_new_connection() -> None:
    pacer = SendPacer()
    assert pacer.due(5.0, 1) == 5.0
    pacer.sent()
    pacer.reset()
    assert pacer.sent_frames == 0
    assert pacer.due(50.0, 1) == 50.0


def test_buffer_drops_oldest_and_counts_every_drop() -> None:
    buffer: SourceBuffer[F] = SourceBuffer(capacity_seconds=0.1)  # 5 frames
    drops = sum(buffer.push(F(k * 0.02, k)) for k in range(12))
    assert drops == 7
    assert [buffer.pop().index for _ in range(len(buffer))] == [7, 8, 9, 10, 11]
    counters = buffer.counters
    assert (counters.pushed, counters.popped, counters.dropped, counters.buffered) == (12, 5, 7, 0)
    assert buffer.peek() is None


def test_thirty_second_buffer_holds_1500_frames() -> None:
    assert SourceBuffer[F](30.0).capacity_frames == 1500


def test_push_front_restores_an_unsent_frame_or_counts_it_dropped_when_full() -> None:
    buffer: SourceBuffer[F] = SourceBuffer(capacity_seconds=0.06)  # 3 frames
    for k in range(3):
        buffer.push(F(k * 0.02, k))
    head = buffer.pop()
    buffer.push_front(head)  # the send failed: it goes back first
    assert [f.index for f in (buffer.pop(), buffer.pop(), buffer.pop())] == [0, 1, 2]
    for k in range(3, 6):
        buffer.push(F(k * 0.02, k))
    head = buffer.pop()  # frame 3 in flight while frame 6 arrives and fills the buffer
    buffer.push(F(0.12, 6))
    buffer.push_front(head)
    assert [f.index for f in (buffer.pop(), buffer.pop(), buffer.pop())] == [4, 5, 6]
    assert buffer.counters.dropped == 1
    assert buffer.counters.popped == 6
