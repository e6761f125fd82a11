"""A backend that stalls (its process stopped, the socket open) and resumes, in the closed loop of
tests/core/flowloop.py on stepped time: what the client sends after, and where it places the server's
drops and transcript times. At a resume the server reads what sat in the socket and ends the chunk it
was in; which comes first is a race (``burst_first``; the real server and the reference backend were
seen ending the chunk first)."""

from __future__ import annotations

import pytest
from flowloop import Loop, episode
from lanesim import FRAME, LaneServer

from app.core.send_log import SendLog

PHASES = [34.0, 34.72, 35.44, 36.16, 36.88]  # where in the recognizer's 3.2 s chunk the stall begins


def sparse(source: str, i: int) -> bool:
    """1.4 s of speech every 4 s: many chunks without a final."""
    return (i % 200) < 70


def stalled(throttle: bool, at: float, seconds: float, burst_first: bool) -> Loop:
    """Overloaded (RTF 1.6) from 30 to 60 s, the server stopped at ``at`` for ``seconds``."""
    loop = Loop(LaneServer(rtf=episode(30, 60, 1.6, low=0.25)), throttle=throttle, speech=sparse,
                burst_first=burst_first)
    loop.run(at)
    loop.stall(seconds)
    loop.run(seconds + 30)
    loop.drain()
    return loop


@pytest.mark.parametrize("burst_first", [True, False])
@pytest.mark.parametrize("at", PHASES)
def test_throttled_nothing_is_dropped_around_a_stall_in_an_overload(burst_first: bool, at: float) -> None:
    # Was: after the resume the mirror took the frames written into the stopped server's socket as
    # arrived long before, judged the chunk they completed done long ago, and sent at 4x into a
    # recognizer still at 1.6: hundreds of frames dropped.
    loop = stalled(True, at, 20.0, burst_first)
    for s in ("mic", "system"):
        assert loop.server.lanes[s].dropped == []


@pytest.mark.parametrize("at", PHASES)
def test_off_the_drops_of_a_stall_are_counted_and_every_time_is_exact_or_marked(at: float) -> None:
    loop = stalled(False, at, 20.0, burst_first=False)
    for s in ("mic", "system"):
        located = sum(round((sp.end - sp.start) / FRAME) for sp in loop.view.dropped(s))
        assert located == len(loop.server.lanes[s].dropped) > 100
    for ev in (e for e in loop.server.events if e.kind == "final"):
        mapped = loop.view.to_capture(ev.source, ev.t0)
        assert mapped is not None
        error = abs(mapped[0] - loop.positions[ev.source][ev.first] * FRAME)
        assert error < 1e-6 or error <= mapped[1] + 1e-6  # exact, or within the error it reports


@pytest.mark.parametrize("at", PHASES)
def test_off_when_the_server_reads_the_socket_first_times_stay_within_their_reported_error(at: float) -> None:
    loop = stalled(False, at, 20.0, burst_first=True)
    for ev in (e for e in loop.server.events if e.kind == "final"):
        mapped = loop.view.to_capture(ev.source, ev.t0)
        assert mapped is not None
        error = abs(mapped[0] - loop.positions[ev.source][ev.first] * FRAME)
        assert error <= max(mapped[1], 1.0) + 1e-6  # off by more than 1 s only where it says so
    for s in ("mic", "system"):  # a drop placed where the server dropped nothing says it is approximate
        truth = {loop.positions[s][p] for p in loop.server.lanes[s].dropped}
        for span in loop.view.dropped(s):
            frames = range(round(span.start / FRAME), round(span.end / FRAME))
            assert span.error_seconds > 0 or all(i in truth for i in frames), span


def test_what_was_written_while_the_server_was_silent_arrives_when_it_speaks_again() -> None:
    log = SendLog()
    for k in range(10):
        log.add(4, 1.0 + k)  # batches at 1..10 s
    assert log.held_back(3.5, 8.0) == (12, 28)  # the batches of 4..7 s: positions 12..27
    assert log.newest(7.9) == 11 and log.newest(8.0) == 11 and log.newest(8.01) == 31
    assert log.arrival(11) == 3.0 and log.arrival(12) == 8.0 and log.arrival(31) == 8.0
    assert log.held_back(9.5, 10.0) == (36, 36)  # nothing written in between
