"""The throttling mode machine on a stepped clock (what is sent when is flow control's: test_flow,
test_server_view)."""

from __future__ import annotations

from app.core.level import Level
from app.core.throttle import ThrottleConfig, ThrottleMode, ThrottlePolicy

N = Level.NORMAL


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def policy(enabled: bool = True) -> tuple[ThrottlePolicy, Clock]:
    clock = Clock()
    return ThrottlePolicy(ThrottleConfig(), clock, enabled=enabled), clock


def step(p: ThrottlePolicy, clock: Clock, seconds: float, waiting: dict[str, float], level: Level = N,
         *, shared: bool = False, share: float = 0.1) -> None:
    end = clock.now + seconds
    while clock.now < end - 1e-9:
        clock.now += 0.25
        p.update(clock.now, waiting, {s: share for s in waiting}, level, shared=shared)


def test_disabled_is_off_and_says_nothing() -> None:
    p, clock = policy(enabled=False)
    step(p, clock, 5, {"mic": 10.0}, Level.OVERLOADED)
    assert p.mode is ThrottleMode.OFF and not p.skip_silence and p.text() == ""
    assert not p.holds_back("system")


def test_skipping_starts_at_once_when_audio_waits_and_ends_after_the_dwell() -> None:
    p, clock = policy()
    step(p, clock, 0.25, {"mic": 1.5})
    assert p.mode is ThrottleMode.SKIP_SILENCE and p.skip_silence
    assert p.text() == "holding 1.5 s, skipping silence"
    step(p, clock, 1.0, {"mic": 0.1})
    assert p.mode is ThrottleMode.SKIP_SILENCE  # dwell: not back before 3 s
    step(p, clock, 3.0, {"mic": 0.1})
    assert p.mode is ThrottleMode.LIVE and p.text() == "holding 0.1 s"
    step(p, clock, 1.0, {"mic": 0.0})
    assert p.text() == "sending live"


def test_queues_reporting_buffering_start_skipping_too() -> None:
    p, clock = policy()
    step(p, clock, 0.5, {"mic": 0.0}, Level.BUFFERING)
    assert p.mode is ThrottleMode.SKIP_SILENCE


def test_microphone_first_only_with_a_shared_recognizer() -> None:
    behind = {"mic": 3.0, "system": 3.0}
    independent, clock = policy()
    step(independent, clock, 10, behind, shared=False)
    assert independent.mode is ThrottleMode.SKIP_SILENCE and not independent.holds_back("system")
    shared, clock = policy()
    step(shared, clock, 4, behind, shared=True)
    assert shared.mode is ThrottleMode.MIC_FIRST
    assert shared.holds_back("system") and not shared.holds_back("mic")
    assert shared.text() == "microphone first, holding 6.0 s, skipping silence"


def test_microphone_first_never_costs_system_audio_its_hold() -> None:
    p, clock = policy()
    step(p, clock, 4, {"mic": 3.0, "system": 3.0}, shared=True)
    assert p.mode is ThrottleMode.MIC_FIRST
    step(p, clock, 4, {"mic": 3.0, "system": 90.0}, shared=True, share=0.85)
    assert p.mode is ThrottleMode.SKIP_SILENCE and not p.holds_back("system")


def test_a_backlog_hovering_at_the_threshold_does_not_flap_the_mode() -> None:
    p, clock = policy()
    for k in range(80):  # 20 s of waiting audio alternating around 1 s every 0.25 s
        clock.now += 0.25
        p.update(clock.now, {"mic": 1.2 if k % 2 else 0.1}, {"mic": 0.0}, N)
    assert p.mode_changes <= 2


def test_toggling_switches_between_off_and_live() -> None:
    p, _ = policy(enabled=False)
    p.enabled = True
    assert p.mode is ThrottleMode.LIVE
    p.enabled = False
    assert p.mode is ThrottleMode.OFF
