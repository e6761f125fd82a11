"""Whether two sources share one recognizer (app.core.shared_recognizer), judged in the closed loop of
test_server_view against the faithful lane model (tests/core/lanesim.py), both ways: one recognizer is
recognised within a few chunks of an overload; a recognizer per source, at equal or different speeds,
healthy or overloaded, never costs system audio more than a few seconds of waiting."""

from __future__ import annotations

import pytest
from lanesim import LaneServer, Rtf
from test_server_view import TICK, Loop

from app.core.lane_history import Chunk
from app.core.shared_recognizer import SharedRecognizer


def speeds(mic: float, system: float, *, start: float = 5.0, end: float = 60.0, low: float = 0.3) -> Rtf:
    return lambda t, s: (mic if s == "mic" else system) if start <= t < end else low


def conversation(source: str, index: int) -> bool:
    return ((index // 200) % 2 == 0) == (source == "mic")  # 4 s turns


def watch(loop: Loop, seconds: float) -> tuple[float | None, int, float]:
    """(first time judged shared, ticks judged shared, seconds system audio was held back)."""
    first, ticks, held = None, 0, 0.0
    for _ in range(round(seconds / TICK)):
        loop.run(TICK)
        if loop.view.shared_recognizer():
            ticks += 1
            first = first if first is not None else loop.server_time
        held += TICK if loop.policy.holds_back("system") else 0.0
    return first, ticks, held


@pytest.mark.parametrize("throttle", [True, False])
@pytest.mark.parametrize("rtf", [0.6, 0.8])
def test_one_recognizer_is_recognised_within_a_few_chunks_of_an_overload(throttle: bool, rtf: float) -> None:
    loop = Loop(LaneServer(rtf=speeds(rtf, rtf, low=0.125), shared=True), throttle=throttle)
    first, ticks, _ = watch(loop, 60)
    assert first is not None and first - 5.0 < 4 * 2 * 2 * rtf  # four chunks of each source
    assert ticks * TICK > 60 - first - 1.0  # and stays recognised: no wrong refutation


def test_a_healthy_shared_recognizer_need_not_be_recognised() -> None:
    # nothing waits: whether the sources share it does not matter, and in step it looks like two
    loop = Loop(LaneServer(rtf=lambda t, s: 0.3, shared=True), throttle=True)
    assert watch(loop, 30)[1] == 0


@pytest.mark.parametrize("throttle", [True, False])
@pytest.mark.parametrize("speech", [None, conversation])
@pytest.mark.parametrize(("mic", "system"), [(0.3, 0.3), (0.3, 0.5), (0.25, 0.45), (1.6, 1.6), (1.2, 1.6),
                                             (2.0, 1.0)])
def test_a_recognizer_per_source_is_never_taken_for_one(throttle: bool, speech: object, mic: float,
                                                        system: float) -> None:
    kwargs = {"speech": speech} if speech else {}
    loop = Loop(LaneServer(rtf=speeds(mic, system)), throttle=throttle, **kwargs)  # type: ignore[arg-type]
    first, _, held = watch(loop, 70)
    assert held == 0.0  # system audio never waits for a recognizer it does not share
    if speech is None:  # fed in step, two recognizers end together or drift past each other
        assert first is None
    # (in a conversation, silence skipped out of step, two overloaded recognizers of equal speed can
    # end in turn for a while like one: see the next test for what such a guess costs)


@pytest.mark.parametrize(("mic", "system"), [(1.5, 1.6), (0.8, 1.9)])
def test_a_wrong_guess_holds_system_audio_back_a_few_seconds_at_most(mic: float, system: float) -> None:
    # Recognizers of nearly the same speed whose chunks drifted half a period apart end in turn, just
    # as one recognizer's do: the guess may be wrong, but holding system audio back proves it at once
    # (the microphone's chunks alone take as long as before) and system audio goes again.
    # Each wrong guess costs one chunk of each source (at RTF 1.6 about 6 s); as the two drift in and
    # out of phase over a 65 s overload it may be guessed again (twice at a 240 ms tick, once at 80 ms),
    # never more often than the drift allows, and never while the last refutation is fresh.
    loop = Loop(LaneServer(rtf=speeds(mic, system)), throttle=True)
    episodes: list[float] = []
    was = False
    for _ in range(round(70 / TICK)):
        loop.run(TICK)
        held = loop.policy.holds_back("system")
        if held and not was:
            episodes.append(0.0)
        if held:
            episodes[-1] += TICK
        was = held
    assert all(seconds < 8.0 for seconds in episodes), episodes
    assert len(episodes) <= 2 and sum(episodes) < 16.0
    assert not loop.policy.holds_back("system")


def chunk(started: float, ended: float) -> Chunk:
    return Chunk(0, 99, started, ended, exact=True)


def test_the_verdict_is_refuted_by_a_chunk_that_ran_alone_as_slowly_as_when_it_waited() -> None:
    judge = SharedRecognizer()
    # in turn: each source's chunk took 1.6 s of its 3.2 s own-lane time (the first one 1.6 s alone)
    mic = [chunk(1.6, 3.2)] + [chunk(3.2 * k, 3.2 * k + 3.2) for k in range(1, 6)]
    system = [chunk(3.2 * k + 1.6, 3.2 * k + 4.8) for k in range(6)]
    assert judge.judge({"mic": mic, "system": system})
    # system audio held back: one recognizer would now take a microphone chunk in about 1.6 s
    assert judge.judge({"mic": [*mic, chunk(19.2, 20.8)], "system": system})
    assert not judge.judge({"mic": [*mic, chunk(19.2, 20.8), chunk(20.8, 24.0)], "system": system})
    assert judge.refutations == 1


def test_two_chunks_in_a_row_while_the_other_source_waited_are_two_recognizers() -> None:
    judge = SharedRecognizer()
    mic = [chunk(3.2 * k, 3.2 * k + 3.2) for k in range(6)]
    system = [chunk(3.2 * k + 1.6, 3.2 * k + 4.8) for k in range(5)] + [chunk(17.6, 23.0)]
    assert not judge.judge({"mic": [*mic, chunk(19.2, 22.4)], "system": system})
