"""The backpressureLevel model, driven with a stepped fake clock (no sleeping, no sockets)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.backpressure import BackpressureConfig, BackpressureModel
from app.core.level import Level, LevelReport
from app.core.messages import MetricsEvent, StatusEvent
from app.core.session_state import ConnectionState


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def step(self, seconds: float) -> None:
        self.now += seconds


def metrics(source: str = "system", fill: float | None = 0.1, **fields: object) -> MetricsEvent:
    return MetricsEvent(source=source, queue_fill_ratio=fill, **fields)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def model(clock: FakeClock) -> BackpressureModel:
    m = BackpressureModel(clock)
    m.on_connection(ConnectionState.STREAMING)
    return m


def feed(
    model: BackpressureModel, clock: FakeClock, seconds: int, *events: MetricsEvent | StatusEvent
) -> list[Level]:
    """One tick per second for ``seconds`` seconds, feeding ``events`` each tick; the level after each."""
    levels = []
    for _ in range(seconds):
        clock.step(1.0)
        for ev in events:
            if isinstance(ev, MetricsEvent):
                model.on_metrics(ev)
            else:
                model.on_status(ev)
        levels.append(model.report().level)
    return levels


def transitions(levels: list[Level]) -> list[Level]:
    out: list[Level] = []
    for level in levels:
        if not out or out[-1] is not level:
            out.append(level)
    return out


# --------------------------------------------------------------------------- connection, idle, unknown


def test_idle_without_session_and_after_it_ends(clock: FakeClock) -> None:
    m = BackpressureModel(clock)
    assert m.report().level is Level.IDLE
    m.on_metrics(metrics(fill=0.99))  # stray metrics while idle change nothing visible
    assert m.report().level is Level.IDLE
    m.on_connection(ConnectionState.STREAMING)
    m.on_metrics(metrics(fill=0.2))
    assert m.report().level is Level.NORMAL
    for ended in (ConnectionState.STOPPED, ConnectionState.FAILED, ConnectionState.IDLE):
        m.on_connection(ended)
        assert m.report() == LevelReport(Level.IDLE, "Not streaming", m.report().sources, m.report().since)


def test_connecting_and_connection_down_are_unknown(clock: FakeClock) -> None:
    m = BackpressureModel(clock)
    m.on_connection(ConnectionState.CONNECTING)
    assert (m.report().level, m.report().reason) == (Level.UNKNOWN, "Connecting")
    m.on_connection(ConnectionState.STREAMING)
    m.on_metrics(metrics(fill=0.2))
    assert m.report().level is Level.NORMAL
    clock.step(0.5)
    m.on_connection(ConnectionState.RECONNECTING)
    report = m.report()
    assert (report.level, report.reason, report.since) == (Level.UNKNOWN, "Connection down", clock.now)


def test_waits_for_first_metrics_then_goes_unknown(model: BackpressureModel, clock: FakeClock) -> None:
    clock.step(2.0)
    report = model.report()
    assert report.level is Level.NORMAL  # a fresh connection has empty server queues
    assert "waiting for the first metrics" in report.reason
    clock.step(2.0)
    report = model.report()
    assert (report.level, report.reason) == (Level.UNKNOWN, "No metrics for 4 s")


def test_stale_metrics_go_unknown_and_come_back(model: BackpressureModel, clock: FakeClock) -> None:
    model.on_metrics(metrics(fill=0.2))
    clock.step(3.0)
    assert model.report().level is Level.NORMAL  # exactly stale_seconds old is still fresh
    clock.step(1.0)
    report = model.report()
    assert (report.level, report.reason, report.since) == (Level.UNKNOWN, "No metrics for 4 s", clock.now)
    assert report.sources[0].fresh is False
    clock.step(1.0)
    model.on_metrics(metrics(fill=0.2))
    report = model.report()
    assert (report.level, report.reason, report.since) == (Level.NORMAL, "Backend healthy", clock.now)


def test_staleness_is_configurable(clock: FakeClock) -> None:
    m = BackpressureModel(clock, BackpressureConfig(stale_seconds=10.0))
    m.on_connection("streaming")
    m.on_metrics(metrics(fill=0.2))
    clock.step(9.0)
    assert m.report().level is Level.NORMAL
    clock.step(2.0)
    assert m.report().level is Level.UNKNOWN


def test_reconnect_keeps_the_episode_but_forgets_old_queue_numbers(
    model: BackpressureModel, clock: FakeClock
) -> None:
    model.on_metrics(metrics(fill=0.97, dropped_total=100, dropped_recent=100))
    assert model.report().level is Level.OVERLOADED
    model.on_connection(ConnectionState.RECONNECTING)
    clock.step(2.0)
    model.on_connection(ConnectionState.STREAMING)
    assert model.report().level is Level.OVERLOADED  # same backend; no evidence it recovered yet
    # The new server session counts drops from 0 again: a total of 3 is 3 new frames, not -97.
    model.on_metrics(metrics(fill=0.1, dropped_total=3, dropped_recent=3))
    assert model.report().dropped_total_seconds == pytest.approx((100 + 3) * 0.02)
    levels = feed(model, clock, 6, metrics(fill=0.1, dropped_total=3, dropped_recent=0))
    assert levels.index(Level.NORMAL) == 5  # first calm sample at tick 1, hold 5 s


# --------------------------------------------------------------------------- the level ladder


def test_normal_buffering_overloaded_hold_normal(model: BackpressureModel, clock: FakeClock) -> None:
    model.on_metrics(metrics(fill=0.5))
    assert model.report().level is Level.NORMAL
    clock.step(1.0)
    model.on_metrics(metrics(fill=0.88, backlog_seconds=1.76))
    report = model.report()
    assert (report.level, report.since) == (Level.BUFFERING, clock.now)
    assert report.reason == "system audio queue 88 % full (1.8 s backlog)"
    clock.step(1.0)
    model.on_metrics(metrics(fill=0.97, backlog_seconds=1.94, dropped_total=70, dropped_recent=70))
    report = model.report()
    assert (report.level, report.since) == (Level.OVERLOADED, clock.now)
    # the server does not say whose they were; the session attributes them from its lane mirror
    assert report.reason == "The backend dropped 1.4 s in the last 10 s"
    model.attribute("system", 70)
    assert model.report().reason == "system audio queue 97 % full, 1.4 s dropped in the last 10 s"
    clock.step(1.0)
    calm_start = clock.now
    model.on_metrics(metrics(fill=0.3, dropped_total=70, dropped_recent=0))
    levels = feed(model, clock, 4, metrics(fill=0.3, dropped_total=70, dropped_recent=0))
    assert levels == [Level.OVERLOADED] * 4  # the hold: calm for 4 s is not enough
    assert (
        model.report().reason == "Recovering: queues below 70 % for 4 of 5 s, 1.4 s dropped in the last 10 s"
    )
    clock.step(1.0)
    report = model.report()  # no new metrics needed: the hold expires on the clock
    assert (report.level, report.reason, report.since) == (Level.NORMAL, "Backend healthy", calm_start + 5)


def test_hysteresis_between_070_and_085_stays(model: BackpressureModel, clock: FakeClock) -> None:
    model.on_metrics(metrics(fill=0.9))
    levels = feed(model, clock, 30, metrics(fill=0.75))
    assert set(levels) == {Level.BUFFERING}
    levels = feed(model, clock, 30, metrics(fill=0.84))
    assert set(levels) == {Level.BUFFERING}
    # ...and from normal, the same band does not raise it.
    levels = feed(model, clock, 6, metrics(fill=0.5)) + feed(model, clock, 30, metrics(fill=0.84))
    assert transitions(levels) == [Level.BUFFERING, Level.NORMAL]


def test_hold_time_is_configurable(clock: FakeClock) -> None:
    m = BackpressureModel(clock, BackpressureConfig(hold_seconds=2.0))
    m.on_connection("streaming")
    m.on_metrics(metrics(fill=0.9))
    assert feed(m, clock, 3, metrics(fill=0.1)) == [Level.BUFFERING, Level.BUFFERING, Level.NORMAL]


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0.84, 0.86, [Level.NORMAL, Level.BUFFERING]), (0.94, 0.96, [Level.BUFFERING, Level.OVERLOADED])],
)
def test_no_flapping_when_fill_oscillates_around_a_threshold(
    model: BackpressureModel, clock: FakeClock, low: float, high: float, expected: list[Level]
) -> None:
    levels = []
    for i in range(60):
        levels += feed(model, clock, 1, metrics(fill=high if i % 2 else low))
    assert transitions(levels) == expected


def test_overloaded_steps_down_to_buffering_when_drops_stop_but_queue_stays_high(
    model: BackpressureModel, clock: FakeClock
) -> None:
    model.on_metrics(metrics(fill=0.97, dropped_recent=5))
    model.attribute("system", 5)
    levels = feed(model, clock, 10, metrics(fill=0.8, dropped_recent=0))
    assert transitions(levels) == [Level.OVERLOADED, Level.BUFFERING]
    assert levels.index(Level.BUFFERING) == 5  # quiet from tick 1, hold 5 s
    assert model.report().reason == "system audio queue 80 % full, 0.1 s dropped in the last 10 s"
    feed(model, clock, 1, metrics(fill=0.8, dropped_recent=0))
    assert model.report().reason == "system audio queue 80 % full (1.6 s backlog)"


def test_drops_alone_mean_overloaded_and_block_recovery(model: BackpressureModel, clock: FakeClock) -> None:
    levels = feed(model, clock, 20, metrics(fill=0.3, dropped_recent=2))
    assert transitions(levels) == [Level.OVERLOADED]
    levels = feed(model, clock, 6, metrics(fill=0.3, dropped_recent=0))
    assert transitions(levels) == [Level.OVERLOADED, Level.NORMAL]


def test_worst_source_wins(model: BackpressureModel, clock: FakeClock) -> None:
    levels = feed(model, clock, 10, metrics("mic", 0.9, backlog_seconds=1.8), metrics("system", 0.1))
    assert set(levels) == {Level.BUFFERING}  # the healthy system source, reported last, does not win
    assert model.report().reason == "microphone queue 90 % full (1.8 s backlog)"
    # Recovery needs every source below 0.70.
    levels = feed(model, clock, 10, metrics("mic", 0.2), metrics("system", 0.75))
    assert set(levels) == {Level.BUFFERING}
    assert model.report().reason == "system audio queue 75 % full (1.5 s backlog)"
    assert feed(model, clock, 6, metrics("mic", 0.2), metrics("system", 0.2))[-1] is Level.NORMAL


def test_a_source_that_stops_reporting_no_longer_counts(model: BackpressureModel, clock: FakeClock) -> None:
    model.on_metrics(metrics("mic", 0.9))
    levels = feed(model, clock, 12, metrics("system", 0.1))
    # mic goes stale after 3 s; then the system source alone decides, with the usual hold.
    assert transitions(levels) == [Level.BUFFERING, Level.NORMAL]
    report = model.report()
    assert [(s.source, s.fresh) for s in report.sources] == [("mic", False), ("system", True)]


def test_realtime_factor_alone_stays_normal(model: BackpressureModel, clock: FakeClock) -> None:
    levels = feed(model, clock, 20, metrics(fill=0.1, realtime_factor=1.5, rtf_avg_10s=1.5))
    assert set(levels) == {Level.NORMAL}
    assert model.report().sources[0].realtime_factor == 1.5


# --------------------------------------------------------------------------- statuses


def test_status_without_metrics_raises_the_level(model: BackpressureModel, clock: FakeClock) -> None:
    model.on_status(StatusEvent("buffering", "Buffering", source="mic", backlog_seconds=1.8))
    report = model.report()
    assert report.level is Level.BUFFERING
    assert report.reason == "Server reports buffering (microphone): 1.8 s backlog - Buffering"
    model.on_status(StatusEvent("overloaded", source="system", backlog_seconds=1.95))
    assert model.report().level is Level.OVERLOADED
    clock.step(4.0)
    assert model.report().level is Level.UNKNOWN  # a status does not count as fresh metrics


def test_a_status_cannot_clear_the_level(model: BackpressureModel, clock: FakeClock) -> None:
    model.on_metrics(metrics(fill=0.97))
    clock.step(1.0)
    model.on_status(StatusEvent("streaming", "Performance optimal", degrade_level="NORMAL", action="restore"))
    assert model.report().level is Level.OVERLOADED
    model.on_status(StatusEvent("buffering", source="system"))  # lower than the current level
    assert model.report().level is Level.OVERLOADED


def test_status_raise_then_metrics_recover_after_hold(model: BackpressureModel, clock: FakeClock) -> None:
    model.on_metrics(metrics(fill=0.2))
    model.on_status(StatusEvent("overloaded", source="system"))  # a spike between two metrics samples
    levels = feed(model, clock, 7, metrics(fill=0.2))
    assert transitions(levels) == [Level.OVERLOADED, Level.NORMAL]
    assert levels.index(Level.NORMAL) == 5


@pytest.mark.parametrize(("state", "level"), [("buffering", "WARNING"), ("buffering", "DEGRADE"),
                                              ("overloaded", "EMERGENCY")])
def test_degrade_ladder_statuses_are_information_not_a_full_queue(
    model: BackpressureModel, clock: FakeClock, state: str, level: str
) -> None:
    # The real server's ladder says "buffering" about 10 s into every healthy session (CONTRACT.md
    # 10): the light follows the queues and the drops, so a healthy session stays green.
    model.on_metrics(metrics(fill=0.01))
    model.on_status(StatusEvent(state, "Processing slower than real-time", degrade_level=level))
    levels = feed(model, clock, 5, metrics(fill=0.01))
    assert set(levels) == {Level.NORMAL}


@pytest.mark.parametrize(
    "state", ["warning", "no_asr_provider", "reconnecting", "error", "connected", "weird"]
)
def test_other_status_states_are_ignored_for_the_level(
    model: BackpressureModel, clock: FakeClock, state: str
) -> None:
    model.on_metrics(metrics(fill=0.2))
    model.on_status(StatusEvent(state, "something", source="mic", backlog_seconds=9.0, dropped_frames=500))
    report = model.report()
    assert (report.level, report.dropped_total_seconds) == (Level.NORMAL, 0.0)


def test_backpressure_status_names_its_source_in_the_message(
    model: BackpressureModel, clock: FakeClock
) -> None:
    model.on_metrics(metrics("mic", 0.2))
    model.on_metrics(metrics("system", 0.3))
    model.on_status(
        StatusEvent("backpressure", "Audio queue full, dropping frames (source=mic)", dropped_frames=25)
    )
    report = model.report()
    assert report.level is Level.OVERLOADED
    assert report.dropped_total_seconds == pytest.approx(0.5)  # 25 chunks of 20 ms, not 25 x its 0.02 s
    assert report.reason == "The backend dropped 0.5 s in the last 10 s"


def test_two_source_rearm_quirk_no_flapping_and_recovery(model: BackpressureModel, clock: FakeClock) -> None:
    """System overloaded and dropping, mic healthy: the healthy mic re-arms the server's flag, so
    ``overloaded`` and ``backpressure`` repeat every second (CONTRACT.md section 5)."""
    levels: list[Level] = []
    total = 0
    for _ in range(20):
        total += 50
        levels += feed(
            model,
            clock,
            1,
            StatusEvent("overloaded", source="system", backlog_seconds=1.95),
            StatusEvent("backpressure", "Audio queue full (source=system)", dropped_frames=total),
            metrics("mic", 0.1, dropped_total=total, dropped_recent=50),
            metrics("system", 0.97, dropped_total=total, dropped_recent=0),
        )
    assert transitions(levels) == [Level.OVERLOADED]
    report = model.report()
    # Drops were pinned on the mic metrics (first in the tick): nothing per source until attributed
    assert all(s.dropped_total_seconds == 0.0 for s in report.sources)
    assert report.dropped_total_seconds == pytest.approx(20.0)

    # The recognizer catches up. Late repeats of the same statuses (same session total) keep
    # arriving for a few seconds; they must neither restart the hold nor flap the light.
    recovery: list[Level] = []
    for i in range(8):
        late = [
            StatusEvent("overloaded", source="system"),
            StatusEvent("backpressure", "(source=system)", dropped_frames=total),
        ]
        recovery += feed(
            model,
            clock,
            1,
            *(late if i < 4 else []),
            metrics("mic", 0.1, dropped_total=total, dropped_recent=0),
            metrics("system", 0.3, dropped_total=total, dropped_recent=0),
        )
    assert transitions(recovery) == [Level.OVERLOADED, Level.NORMAL]
    assert recovery.index(Level.NORMAL) == 5


def test_drops_count_in_frames_and_are_attributed_per_source_by_the_session(
    model: BackpressureModel, clock: FakeClock
) -> None:
    """``dropped_seconds`` is the size of ONE drop (0.02), never a total: dividing it by the session
    total under-counted 4x. Drops are the frames of the session total, 20 ms each."""
    model.on_metrics(metrics(fill=0.99))
    model.on_status(StatusEvent("backpressure", dropped_frames=10, dropped_seconds=0.02))
    assert model.report().dropped_total_seconds == pytest.approx(0.2)
    clock.step(1.0)
    model.on_metrics(metrics(fill=0.99, dropped_total=486, dropped_recent=476))
    assert model.report().dropped_total_seconds == pytest.approx(9.72)
    model.attribute("mic", 300)
    model.attribute("system", 186)
    model.attribute("mic", 250)  # a revised estimate never takes back what was booked
    loads = {s.source: s for s in model.report().sources}
    assert loads["mic"].dropped_total_seconds == pytest.approx(6.0)
    assert loads["system"].dropped_total_seconds == pytest.approx(3.72)


def test_recent_drop_window_is_ten_seconds(model: BackpressureModel, clock: FakeClock) -> None:
    model.on_metrics(metrics(fill=0.99, dropped_total=50, dropped_recent=50))
    model.attribute("system", 50)
    assert model.report().sources[0].dropped_recent_seconds == pytest.approx(1.0)
    feed(model, clock, 10, metrics(fill=0.1, dropped_total=50, dropped_recent=0))
    assert model.report().sources[0].dropped_recent_seconds == pytest.approx(1.0)
    feed(model, clock, 1, metrics(fill=0.1, dropped_total=50, dropped_recent=0))
    loads = model.report().sources[0]
    assert loads.dropped_recent_seconds == 0.0
    assert loads.dropped_total_seconds == pytest.approx(1.0)


# --------------------------------------------------------------------------- lenient input


def test_metrics_with_missing_or_none_fields(model: BackpressureModel, clock: FakeClock) -> None:
    model.on_metrics(MetricsEvent())  # nothing at all: source defaults to system, fill stays 0
    report = model.report()
    assert (report.level, report.sources[0].source, report.sources[0].fill_ratio) == (
        Level.NORMAL,
        "system",
        0.0,
    )
    model.on_metrics(MetricsEvent(source="mic", queue_bytes=60000, queue_bytes_max=64000))  # fill from bytes
    assert model.report().level is Level.BUFFERING
    model.on_metrics(MetricsEvent(source="system", backlog_seconds=1.96, max_backlog_seconds=2.0))
    assert model.report().level is Level.OVERLOADED  # fill from the backlog
    model.on_metrics(
        MetricsEvent(source="system", queue_fill_ratio=float("nan"), realtime_factor=float("inf"))
    )
    system = next(s for s in model.report().sources if s.source == "system")
    assert (system.fill_ratio, system.realtime_factor) == (0.98, None)  # junk ignored, last value kept


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        BackpressureConfig(clear_below=0.9)
    with pytest.raises(ValueError):
        BackpressureConfig(hold_seconds=0)


def test_reset_forgets_the_session(model: BackpressureModel, clock: FakeClock) -> None:
    model.on_metrics(metrics(fill=0.99, dropped_recent=9))
    model.reset()
    report = model.report()
    assert (report.level, report.sources, report.dropped_total_seconds) == (Level.IDLE, (), 0.0)


_statuses = st.builds(
    StatusEvent,
    state=st.sampled_from(["buffering", "overloaded", "backpressure", "streaming", "warning", "x", ""]),
    message=st.text(max_size=30),
    source=st.none() | st.sampled_from(["mic", "system", "other", ""]),
    backlog_seconds=st.none() | st.floats(allow_nan=True),
    dropped_frames=st.none() | st.integers(-5, 10**6),
    dropped_seconds=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    degrade_level=st.none() | st.text(max_size=5),
)
_metrics = st.builds(
    MetricsEvent,
    source=st.none() | st.sampled_from(["mic", "system", "third"]),
    queue_bytes=st.none() | st.integers(-10, 10**6),
    queue_bytes_max=st.none() | st.integers(-1, 10**5),
    queue_fill_ratio=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    backlog_seconds=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    max_backlog_seconds=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    dropped_total=st.none() | st.integers(-5, 10**6),
    dropped_recent=st.none() | st.integers(-5, 10**4),
    realtime_factor=st.none() | st.floats(allow_nan=True, allow_infinity=True),
)
_events = st.one_of(
    _statuses,
    _metrics,
    st.sampled_from(list(ConnectionState)),
    st.floats(0.0, 20.0),  # a clock step
    st.just("reset"),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_events, max_size=40))
def test_any_event_sequence_never_raises_and_yields_a_level(events: list[object]) -> None:
    clock = FakeClock()
    m = BackpressureModel(clock)
    last_since = m.report().since
    for ev in events:
        if isinstance(ev, StatusEvent):
            m.on_status(ev)
        elif isinstance(ev, MetricsEvent):
            m.on_metrics(ev)
        elif isinstance(ev, ConnectionState):
            m.on_connection(ev)
        elif isinstance(ev, float):
            clock.step(ev)
        else:
            m.reset()
            last_since = clock.now
        report = m.report()
        assert isinstance(report.level, Level)
        assert report.reason
        assert last_since <= report.since <= clock.now
        last_since = report.since
        assert all(0.0 <= s.fill_ratio <= 1.5 and s.dropped_total_seconds >= 0 for s in report.sources)


def test_one_dropped_frame_is_not_called_zero_seconds(model: BackpressureModel, clock: FakeClock) -> None:
    # real server: the first drop is one 20 ms frame before the metrics that count the rest; the window
    # said "The backend dropped 0.0 s in the last 10 s"
    clock.step(1.0)
    model.on_metrics(metrics(fill=0.97, backlog_seconds=1.94, dropped_total=1, dropped_recent=1))
    assert model.report().reason == "The backend dropped 20 ms in the last 10 s"
    model.attribute("system", 1)
    assert model.report().reason == "system audio queue 97 % full, 20 ms dropped in the last 10 s"
