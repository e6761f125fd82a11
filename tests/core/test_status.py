"""The status light on a stepped clock: every transition, its hysteresis, the trend warning, and
the words."""

from __future__ import annotations

import pytest

from app.core.level import Level, LevelReport, SourceLoad
from app.core.losses import LossCause, LossSpan
from app.core.session_state import ConnectionState as C
from app.core.status import Light, StatusConfig, StatusInputs, StatusModel


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def server(level: Level = Level.NORMAL, backlog: float = 0.0, measured: bool = True) -> LevelReport:
    load = SourceLoad("mic", backlog / 2.0, backlog, updated_at=1.0 if measured else 0.0)
    return LevelReport(level, "", (load,) if measured else ())


class Rig:
    def __init__(self) -> None:
        self.clock = Clock()
        self.model = StatusModel(self.clock)
        self.losses: list[LossSpan] = []
        self.elapsed = 0.0

    def at(self, seconds: float, connection: C = C.STREAMING, *, held: float = 0.0, share: float = 0.0,
           level: Level = Level.NORMAL, backlog: float = 0.0, measured: bool = True, error: str | None = None,
           levels: dict[str, float] | None = None, step: float = 0.25) -> Light:
        """Step ``seconds`` of clock, updating every ``step``; the light at the end."""
        end = self.clock.now + seconds
        while True:
            self.model.update(StatusInputs(connection, server(level, backlog, measured), {"mic": held},
                                           {"mic": share}, tuple(self.losses), self.elapsed, error, levels))
            if self.clock.now >= end - 1e-9:
                return self.model.report().light
            self.clock.now += step
            self.elapsed += step

    def lose(self, seconds: float, cause: LossCause = LossCause.SERVER_DROP) -> None:
        self.losses.append(LossSpan("mic", self.elapsed - seconds, self.elapsed, cause))


def test_idle_then_grey_until_measured_then_green() -> None:
    rig = Rig()
    assert rig.at(0, C.IDLE) is Light.IDLE
    assert rig.at(1, C.CONNECTING) is Light.UNKNOWN
    assert rig.at(1, measured=False, level=Level.UNKNOWN) is Light.UNKNOWN
    assert rig.model.report().headline == "Not measured yet"
    # the backpressure model says "normal, waiting for the first metrics" right after connecting
    assert rig.at(1, measured=False, level=Level.NORMAL) is Light.UNKNOWN
    assert rig.model.report().headline == "Not measured yet"
    assert rig.at(1) is Light.LIVE
    assert rig.model.report().headline == "Live and complete"


def test_held_audio_is_amber_with_how_far_behind_and_clears_with_hysteresis() -> None:
    rig = Rig()
    rig.at(1)
    assert rig.at(0.25, held=21.0) is Light.BEHIND
    assert rig.model.report().headline == "Transcript 21 s behind, catching up"
    assert rig.at(0.25, held=1.0) is Light.BEHIND  # between the thresholds: no news
    assert rig.at(2.5, held=0.2) is Light.BEHIND  # calm, but not for 3 s yet
    assert rig.at(1.0, held=0.2) is Light.LIVE


def test_a_growing_backlog_turns_amber_before_any_threshold() -> None:
    rig = Rig()
    rig.at(1)
    held, light = 0.0, Light.LIVE
    while light is Light.LIVE:  # 0.5 s of backlog gained per second, never back to zero
        held += 0.125
        light = rig.at(0.25, held=held)
    assert held < StatusConfig().behind_seconds and light is Light.BEHIND
    assert "falling" in rig.model.report().headline.lower()


@pytest.mark.parametrize("period", [2.0, 2.5])
@pytest.mark.parametrize("peak", [0.6, 1.2, 1.8])
def test_the_sawtooth_of_healthy_chunked_consumption_is_not_growth(period: float, peak: float) -> None:
    # One recognizer serving two sources in turn (RTF 0.25-0.5): a source's chunk accumulates in the
    # server's queue while the other's is transcribed and its own is, then it is taken at once; the
    # queue's size arrives in metrics once a second, so the backlog seen rises in steps for well over
    # ``trend_seconds`` and falls back to zero every chunk.
    rig = Rig()
    rig.at(1)
    steps = round(period / 0.25)
    for k in range(round(60 / 0.25)):
        phase = k % steps
        backlog = 0.0 if phase == 0 else peak * (phase // 2 * 2) / (steps - 1)  # held between metrics
        held = 0.04 * (k % 3)  # a tick's worth waits on the client now and then
        assert rig.at(0.25, held=held, backlog=backlog) is Light.LIVE, (k, backlog)


@pytest.mark.parametrize("peak", [0.6, 1.2, 1.8])
def test_after_amber_the_sawtooth_of_a_healthy_backend_lets_the_light_go_green(peak: float) -> None:
    # Seen on the real server after a reconnect: its queue alternates 0.0 / 0.48 s between metrics and
    # a tick's audio waits on the client, so the backlog never stays under ``clear_seconds`` for 3 s.
    # Calm is judged on the saw-tooth's floor, as growth is: the light must not stay amber to the end.
    def sawtooth(held: float, seconds: float = 8.0) -> list[Light]:
        return [rig.at(0.25, held=held, backlog=peak if k % 4 in (1, 2) else 0.0)
                for k in range(round(seconds / 0.25))]

    rig = Rig()
    rig.at(4)  # calm for a while: that calm is over once the light turns amber
    assert rig.at(2, C.RECONNECTING, held=2.0) is Light.BEHIND
    lights = sawtooth(held=0.12)
    assert lights[:8] == [Light.BEHIND] * 8 and lights[-1] is Light.LIVE  # amber for the hold, then green
    assert rig.at(1, held=3.0) is Light.BEHIND  # the resend after a reconnect: behind by a threshold
    assert sawtooth(held=0.12)[-1] is Light.LIVE
    # ... while a backlog whose floor stays above ``clear_seconds`` keeps it amber
    assert rig.at(1, held=3.0) is Light.BEHIND
    assert set(sawtooth(held=0.6)) == {Light.BEHIND}


def test_a_first_measurement_is_not_growth_from_the_unmeasured_zeros_before_it() -> None:
    # before the first metrics the server's part of the backlog is unknown, not 0: a steady 0.6 s
    # from the first measurement on must not read as a floor rising from 0 (the self-test caught it)
    rig = Rig()
    rig.at(3, measured=False, level=Level.UNKNOWN)
    for _ in range(40):
        assert rig.at(0.25, backlog=0.6) is Light.LIVE


def test_a_real_overload_is_amber_before_the_server_drops() -> None:
    # RTF 1.6 without throttling: the server's queue (2 s) gains 0.6 s per second between chunks
    # and overflows after about 3 s; amber comes from the floor's growth before that.
    rig = Rig()
    rig.at(1)
    light, backlog, t = Light.LIVE, 0.0, 0.0
    while light is Light.LIVE:
        t += 0.25
        backlog = 0.6 * t + (0.5 if round(t / 0.25) % 8 < 4 else 0.0)  # growth plus a saw-tooth
        light = rig.at(0.25, backlog=min(backlog, 1.6))
    assert light is Light.BEHIND and backlog < 2.0


def test_a_filling_server_queue_is_amber_not_red() -> None:
    rig = Rig()
    rig.at(1)
    assert rig.at(0.5, level=Level.BUFFERING, backlog=1.7) is Light.BEHIND


def test_any_loss_is_red_and_clears_five_seconds_after_the_last_one() -> None:
    rig = Rig()
    rig.at(1)
    rig.lose(2.0)
    assert rig.at(0.25) is Light.LOSING
    report = rig.model.report()
    assert report.headline == "Losing audio: backend overloaded" and report.lost_seconds == 2.0
    assert report.detail == "2 s of audio could not be transcribed."
    assert rig.at(4.5) is Light.LOSING
    assert rig.at(0.5) is Light.LIVE  # no new loss for 5 s
    assert rig.model.report().detail == "2 s of audio could not be transcribed earlier."


@pytest.mark.parametrize("cause", list(LossCause))
def test_every_cause_of_loss_is_red_with_its_reason(cause: LossCause) -> None:
    rig = Rig()
    rig.at(1)
    rig.lose(0.6, cause)
    assert rig.at(0.25) is Light.LOSING
    assert rig.model.report().headline == f"Losing audio: {cause.reason}"


def test_connection_down_is_amber_until_the_hold_runs_out() -> None:
    rig = Rig()
    rig.at(1)
    assert rig.at(1, C.RECONNECTING, held=5.0, share=0.04) is Light.BEHIND
    assert rig.model.report().headline == "Connection down, reconnecting"
    assert rig.at(1, C.RECONNECTING, held=100.0, share=0.85) is Light.LOSING


def test_a_backend_that_stops_reporting_is_grey() -> None:
    rig = Rig()
    rig.at(1)
    assert rig.at(1, level=Level.UNKNOWN) is Light.UNKNOWN
    assert rig.model.report().headline == "Backend silent"


def test_a_failed_session_is_its_own_state_and_a_new_one_starts_fresh() -> None:
    rig = Rig()
    rig.at(1)
    assert rig.at(0.25, C.FAILED, error="The backend refused the token.") is Light.FAILED
    report = rig.model.report()
    assert (report.headline, report.detail) == ("Failed", "The backend refused the token.")
    rig.model.reset()
    assert rig.at(0.25, C.CONNECTING) is Light.UNKNOWN


def test_stopped_is_idle_and_remembers_what_was_lost() -> None:
    rig = Rig()
    rig.at(1)
    rig.lose(12.0)
    rig.at(6)
    assert rig.at(0.25, C.STOPPED) is Light.IDLE
    assert rig.model.report().detail == "Last meeting: 12 s of audio could not be transcribed."


def test_a_source_silent_for_thirty_seconds_while_the_other_speaks_is_named() -> None:
    rig = Rig()
    rig.at(29, levels={"mic": -80.0, "system": -25.0})
    assert rig.model.report().silent_source is None
    rig.at(1.5, levels={"mic": -80.0, "system": -25.0})
    assert rig.model.report().silent_source == "mic"
    rig.at(0.25, levels={"mic": -30.0, "system": -25.0})
    assert rig.model.report().silent_source is None


def test_since_is_when_the_light_changed() -> None:
    rig = Rig()
    rig.at(1)
    entered = rig.clock.now  # the next update sees the backlog
    rig.at(0.25, held=5.0)
    rig.at(1.0, held=5.0)
    assert rig.model.report().since == entered


def test_a_long_outage_stays_amber_through_every_connection_attempt() -> None:
    # stall60 on the real server: each attempt hung 10 s in "connecting" (a frozen backend's kernel
    # accepts the TCP connection) and the light was grey "Connecting" for most of 25 s without a connection
    rig = Rig()
    rig.at(1)
    assert rig.at(0.5, C.RECONNECTING, held=1.0) is Light.BEHIND
    assert rig.at(10, C.CONNECTING, held=11.0, share=0.1) is Light.BEHIND
    assert rig.model.report().headline == "Connection down, reconnecting"
    assert "11 s of audio held" in rig.model.report().detail
    assert rig.at(10, C.CONNECTING, held=100.0, share=0.85) is Light.LOSING
    # streaming again ends the outage: an attempt with nothing held is not measured, grey
    rig.at(0.25, C.STREAMING, held=0.0)
    assert rig.at(0.25, C.CONNECTING) is Light.UNKNOWN


def test_first_connecting_is_grey_unless_audio_piles_up_meanwhile() -> None:
    rig = Rig()
    assert rig.at(1, C.CONNECTING, held=0.5) is Light.UNKNOWN
    assert rig.at(1, C.CONNECTING, held=2.5) is Light.BEHIND
    assert rig.model.report().headline == "Connecting, audio held"
