"""What the window says besides the lamp: the server's last status (every state with its message,
CONTRACT section 6), Start/Stop derived from the snapshot, stale per-source numbers greyed and
aged, and no throttling note once the session stopped."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.core.level import Level, LevelReport, SourceLoad
from app.core.messages import StatusEvent
from app.core.session_state import ConnectionState, SessionSnapshot
from app.core.status_report import Light
from app.ui.binding import bind
from app.ui.controller import SessionController
from app.ui.present import connection_view, server_status_line, source_views
from app.ui.window import MainWindow


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wired(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    clock = Clock(100.0)
    controller = SessionController(None, clock=clock, parent=window)
    bind(window, controller)
    return window, controller, clock


def streaming(status: StatusEvent | None = None, **fields) -> SessionSnapshot:
    return SessionSnapshot(state=ConnectionState.STREAMING, last_status=status, **fields)


@pytest.mark.parametrize(
    ("status", "line"),
    [
        (StatusEvent("streaming", "Performance optimal", degrade_level="normal"),
         "Server said: streaming — Performance optimal"),
        (StatusEvent("reconnecting", "Failing over to the backup ASR", degrade_level="failover"),
         "Server said: reconnecting — Failing over to the backup ASR"),
        (StatusEvent("buffering", "Buffering system audio: queue 90% full, 1.8s behind", "system"),
         "Server said: buffering — Buffering system audio: queue 90% full, 1.8s behind"),
        (StatusEvent("overloaded", "Source system queue 97 % full", "system"),
         "Server said: overloaded — Source system queue 97 % full"),
        (StatusEvent("backpressure", "Dropping oldest mic audio to stay live (0.4s dropped so far)"),
         "Server said: backpressure — Dropping oldest mic audio to stay live (0.4s dropped so far)"),
        (StatusEvent("warning", "Analysis delayed"), "Server said: warning — Analysis delayed"),
        (StatusEvent("no_asr_provider", ""), "Server said: no_asr_provider"),
        (StatusEvent("quantum_flux", "Something new\n  on two lines"),
         "Server said: quantum_flux — Something new on two lines"),  # unknown state: verbatim
    ],
)
def test_every_server_status_is_shown_with_its_message(status, line):
    busy = LevelReport(Level.BUFFERING, "x")  # a load warning is shown while the load is high
    assert server_status_line(streaming(status, level=busy)) == line


def test_a_load_warning_the_metrics_cleared_is_not_shown_beside_green():
    """The server never says "recovered": its last "buffering" must not outlive the episode."""
    for state in ("buffering", "overloaded", "backpressure"):
        status = StatusEvent(state, "queue 90% full", "system")
        assert server_status_line(streaming(status, level=LevelReport(Level.NORMAL, "ok"))) == ""
    streaming_twice = StatusEvent("streaming", "Streaming")
    # not "streaming — Streaming"
    assert server_status_line(streaming(streaming_twice)) == "Server said: streaming"


def test_no_status_line_without_a_running_session():
    status = StatusEvent("streaming", "Streaming")
    assert server_status_line(streaming(None)) == ""
    assert server_status_line(SessionSnapshot(state=ConnectionState.STOPPED, last_status=status)) == ""
    long = server_status_line(streaming(StatusEvent("warning", "x" * 1000)))
    assert len(long) < 200 and long.endswith("…")


def test_the_window_shows_the_server_status_as_plain_text_with_the_light(wired):
    window, controller, _ = wired
    window.diagnostics.set_expanded(True)  # the server's words are diagnostics
    fired = []
    controller.server_status_changed.connect(fired.append)
    assert not window.server_status_label.isVisibleTo(window)
    snap = streaming(StatusEvent("overloaded", "<b>Source system</b> queue 97 % full"),
                     level=LevelReport(Level.OVERLOADED, "x"))
    controller.apply_fast(snap)  # with the light, so a cleared warning never stays beside green
    controller.apply_fast(snap)
    controller.apply_slow(snap)
    assert fired == ["Server said: overloaded — <b>Source system</b> queue 97 % full"]  # once, on change
    label = window.server_status_label
    assert label.isVisibleTo(window) and label.text() == fired[0]
    assert label.textFormat() is Qt.TextFormat.PlainText  # server text is never HTML
    controller.apply_snapshot(streaming(StatusEvent("reconnecting", "Degrade ladder: failover")))
    assert label.text() == "Server said: reconnecting — Degrade ladder: failover"
    controller.apply_snapshot(SessionSnapshot(state=ConnectionState.STOPPED))
    assert not label.isVisibleTo(window)


def test_stop_shows_while_the_snapshot_says_streaming(wired):
    window, controller, _ = wired
    assert not controller.is_running()  # no session task: the self-test's situation
    controller.apply_snapshot(streaming())
    assert window.start_button.text() == "Stop"
    assert not window.source_picker.isEnabled()
    assert window.is_running()
    controller.apply_snapshot(SessionSnapshot(state=ConnectionState.STOPPING))
    assert window.start_button.text() == "Stop"
    controller.apply_snapshot(SessionSnapshot(state=ConnectionState.STOPPED))
    assert window.start_button.text() == "Start"
    assert window.source_picker.isEnabled()


class UnsettledSession:
    """A session that ends without settling its state (still "streaming"): a situation the real
    session avoids, so it cannot be produced on cue with one; the controller must show Start anyway."""

    def snapshot(self) -> SessionSnapshot:
        return streaming(StatusEvent("streaming", "Streaming"), throttle_note="sending live")

    async def run(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def set_throttling(self, enabled: bool) -> None:
        pass


    def add_tick_listener(self, listener) -> None:

        pass


def test_a_finished_session_never_shows_stop(qtbot, qloop):
    window = MainWindow()
    qtbot.addWidget(window)
    controller = SessionController(lambda listener: UnsettledSession(), parent=window)
    bind(window, controller)
    controller.start()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=5_000)
    assert window.start_button.text() == "Start"
    assert window.lamp.light() is Light.IDLE
    assert not window.server_status_label.isVisibleTo(window)
    assert not window.throttle_label.isVisibleTo(window)


STALE_REPORT = LevelReport(
    Level.UNKNOWN,
    "No metrics for 4 s",
    (
        SourceLoad("system", 0.97, 1.9, updated_at=96.0, fresh=False),
        SourceLoad("mic", 0.30, 0.6, updated_at=95.4, fresh=False),
    ),
)


def test_stale_numbers_are_greyed_and_say_how_old(wired):
    window, controller, clock = wired
    controller.apply_snapshot(streaming(level=STALE_REPORT))  # clock: 100.0
    system, mic = window.panels["system"], window.panels["mic"]
    assert system.fill_bar.format() == "97 % full (stale, 4 s old)"
    assert mic.fill_bar.format() == "30 % full (stale, 4 s old)"
    for panel in (system, mic):
        assert panel.is_stale()
        assert not panel.fill_bar.isEnabled() and not panel.backlog_label.isEnabled()
        assert panel.client_label.isEnabled()  # the client's own count is current
        assert "stale" in panel.accessibleDescription()
    clock.now = 103.0
    controller.apply_slow(streaming(level=STALE_REPORT))  # the numbers are diagnostics: the text cadence
    assert system.fill_bar.format() == "97 % full (stale, 7 s old)"
    fresh = LevelReport(Level.OVERLOADED, "x", (SourceLoad("system", 0.97, 1.9, updated_at=103.0),))
    controller.apply_slow(streaming(level=fresh))
    assert system.fill_bar.format() == "97 % full" and not system.is_stale()
    assert system.fill_bar.isEnabled()


def test_stale_view_ages_in_whole_seconds():
    snap = streaming(level=STALE_REPORT)
    system = [source_views(snap, now=100.0 + dt)[0] for dt in (0.0, 0.3, 0.9, 1.0)]
    assert system[0] == system[1] == system[2] != system[3]  # once a second, not at every 30 Hz poll
    assert system[0].age_seconds == 4.0 and not system[0].fresh
    assert source_views(snap)[0].age_seconds is None  # no clock: "stale" without an age


def test_throttling_note_only_while_running(wired):
    window, controller, _ = wired
    controller.apply_snapshot(streaming(throttle_note="sending live"))
    assert window.throttle_label.text() == "Adaptive throttling: sending live"
    stopped = SessionSnapshot(state=ConnectionState.STOPPED, throttle_note="sending live")
    assert connection_view(stopped, "x", False).throttle_note == ""
    controller.apply_snapshot(stopped)
    assert not window.throttle_label.isVisibleTo(window) and window.throttle_label.text() == ""


def test_the_self_test_catches_start_shown_while_streaming(wired):
    from app.ui.self_test import STEPS, controls_problem

    window, controller, _ = wired
    streaming_step = next(step for step in STEPS if step.name == "live")
    window.set_connection(connection_view(streaming(), "x", running=False))  # the old bug
    assert "'Start' while streaming" in controls_problem(window, streaming_step)
    controller.apply_snapshot(streaming())
    assert controls_problem(window, streaming_step) == ""
