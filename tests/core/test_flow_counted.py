"""A backlog sent at the queue's credit into a recognizer that keeps up, throttling off, in the closed
loop of tests/core/flowloop.py on stepped time: the reconnect after the overload benchmark's 60 s stall
(issue 12). The server drops little or nothing; the client must report what it dropped, no more (the
gaps it infers after chunks of silence, whose ends it only estimates, were phantoms: 0.2 s of them in
that benchmark while the server counted none) and never less."""

from __future__ import annotations

import pytest
from flowloop import TICK, Loop
from lanesim import FRAME, LaneServer

from app.core.drop_totals import DropTotals


def sparse(source: str, i: int) -> bool:
    return i % 400 < (60 if source == "mic" else 120)


def backlogged(backlog: float, rtf: float, phase: float, delay: float, latency: float) -> Loop:
    """``backlog`` seconds captured before the connection opens, then 40 s more; the recognizer at
    ``rtf``; messages read ``delay`` after the server wrote them, batches reaching it ``latency`` after
    they were written."""
    server = LaneServer(rtf=lambda t, s: rtf, metrics_phase=phase, speech=sparse)
    loop = Loop(server, throttle=False, speech=sparse, reports_load=True, latency=latency, report_delay=delay)
    loop.server_time = backlog  # the first tick captures the backlog at once
    loop.run(40)
    loop.drain()
    return loop


@pytest.mark.parametrize(("backlog", "rtf", "phase", "delay", "latency"), [
    (10.0, 0.25, 0.9, 0.05, 0.05), (10.0, 0.25, 0.9, 0.05, 0.12), (10.0, 0.25, 0.1, 0.15, 0.12),
    (10.0, 0.25, 0.9, 0.0, 0.0), (10.0, 0.25, 0.9, 0.15, 0.05)])
def test_no_drop_is_reported_where_the_server_dropped_none(
        backlog: float, rtf: float, phase: float, delay: float, latency: float) -> None:
    # Was: 1-13 frames reported per case (a report seemed to pin the next chunk after a gap, or a
    # chunk of silence was taken to end late), while every report's dropped_total said 0.
    loop = backlogged(backlog, rtf, phase, delay, latency)
    assert loop.server.dropped_total == 0
    for source in ("mic", "system"):
        assert loop.view.dropped_frames(source) == 0, source
        assert loop.view.dropped(source) == []


@pytest.mark.parametrize("backlog", [10.0, 30.0, 60.0])
@pytest.mark.parametrize("rtf", [0.25, 0.5, 0.8])
@pytest.mark.parametrize(("phase", "delay", "latency"),
                         [(0.1, 0.15, 0.12), (0.5, 0.05, 0.05), (0.9, 0.0, 0.12)])
def test_the_count_never_hides_a_drop_and_reports_stay_near_the_truth(
        backlog: float, rtf: float, phase: float, delay: float, latency: float) -> None:
    loop = backlogged(backlog, rtf, phase, delay, latency)
    for source in ("mic", "system"):
        true = len(loop.server.lanes[source].dropped)
        reported = loop.view.dropped_frames(source)
        assert reported <= loop.server.dropped_total
        # at most a few frames short (where a chunk's place is uncertain), never a drop hidden
        assert reported >= true - 2, (source, true, reported)
        # Within 20 % (or 5 frames). Not with a recognizer at 0.5x behind a 10-30 s backlog: both lanes'
        # models over-estimate their first drops (20-55 %), and the count, all lanes together, caps
        # each lane alone, above what either dropped (a known limit, left: issue 12's closing note).
        limit = 0.6 if (rtf, backlog) in ((0.5, 10.0), (0.5, 30.0)) else 0.2
        assert abs(reported - true) <= max(5, limit * true), (source, true, reported)


@pytest.mark.parametrize(("backlog", "rtf", "phase", "delay", "latency"), [
    (10.0, 0.25, 0.9, 0.05, 0.05), (10.0, 0.25, 0.1, 0.15, 0.12), (30.0, 0.25, 0.1, 0.15, 0.12),
    (10.0, 0.5, 0.1, 0.15, 0.12)])
def test_live_what_is_shown_is_never_more_than_the_server_counted_so_far(
        backlog: float, rtf: float, phase: float, delay: float, latency: float) -> None:
    # Was: 40 ms "dropped in the last 10 s" on the status line after the stall's reconnect, while the
    # server counted none (the level books every increase and never takes it back).
    server = LaneServer(rtf=lambda t, s: rtf, metrics_phase=phase, speech=sparse)
    loop = Loop(server, throttle=False, speech=sparse, reports_load=True, latency=latency, report_delay=delay)
    loop.server_time = backlog
    for _ in range(170):  # 40 s, a tick at a time
        loop.run(TICK)
        counted = {s: loop.view.dropped_frames(s, counted=True) for s in ("mic", "system")}
        for source, frames in counted.items():
            assert frames <= server.dropped_total, (loop.server_time, source, frames)
            assert sum(s.end - s.start for s in loop.view.dropped(source, counted=True)) <= (
                frames * FRAME + 1e-6)


def test_the_ceiling_comes_from_a_report_written_after_the_moment() -> None:
    totals = DropTotals()
    assert totals.by(0.0) is None  # no count reported: nothing bounded
    for at, total in [(1.0, 0), (2.0, 4), (3.0, 4), (4.0, 9)]:
        totals.add(total, at)
    assert totals.by(0.5) == 4  # the first report read a second after 0.5 is the one at 2.0
    assert totals.by(1.0) == 4
    assert totals.by(2.5) == 9
    assert totals.by(3.5) is None  # none read late enough yet
    totals.add(3, 5.0)  # a count never goes down on one connection
    assert totals.by(3.5) == 9
    totals.forget(2.5)
    assert totals.by(2.5) == 9 and totals.by(0.0) == 9  # what was forgotten is never asked again
