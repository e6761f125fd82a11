"""The whole window against the faithful reference backend as a process (``python -m app.backend``,
simulated recognizer, an RTF schedule), through every state people see: normal, behind (throttling
holding), recovered, losing (throttling off, overload), recovered, failed (a token the backend
refuses), the next session (no stale error), and the backend killed mid-meeting.

At every change of the light, and at each step, the lamp, its reason, the headline and detail, the
server badge, the window title and the tray tooltip must all say the one status, and no line may
outlive its cause (a server load warning beside green, queue bars or meters after Stop, the last
session's error in the next one). Conditions are awaited with generous timeouts, never slept on.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from testkit import launch_backend

from app.capture.replay import ReplaySource
from app.core.messages import Source
from app.core.settings import Settings
from app.core.status_report import Light
from app.ui.binding import bind
from app.ui.builtin import BuiltinBackend
from app.ui.controller import SessionController
from app.ui.secrets import TokenStore
from app.ui.session_adapter import session_factory
from app.ui.settings_store import SettingsStore
from app.ui.shell import DesktopShell
from app.ui.sources import DeviceLists
from app.ui.status_view import StatusView
from app.ui.window import MainWindow

pytestmark = pytest.mark.slow

LOAD_WORDS = ("buffering", "overloaded", "backpressure")
STEP_TIMEOUT_MS = 60_000  # a loaded 2-core machine: generous, and only ever waited on, never slept




@pytest.fixture
def backends():
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], str]:
        proc, url = launch_backend(*args)
        started.append(proc)
        return proc, url

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


class Rig:
    """The window, controller, shell (with its tray) and a checker that runs after every status change."""

    def __init__(self, qtbot, tmp_path: Path, wavs: dict[str, Path], url: str) -> None:
        self.qtbot = qtbot
        store = SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        store.save(Settings(backend_url=url))
        self.window = MainWindow()
        holder: dict[str, DesktopShell] = {}

        def sources(settings: Settings):
            return [ReplaySource(Source(s), wavs[s.value], loop=True) for s in settings.sources.sources]

        factory = session_factory(lambda: holder["shell"].settings(), lambda: holder["shell"].token(),
                                  BuiltinBackend(), sources)
        self.controller = SessionController(factory, parent=self.window)
        bind(self.window, self.controller)
        self.shell = DesktopShell(self.window, self.controller, store, TokenStore(), DeviceLists,
                                  tray_available=True)
        holder["shell"] = self.shell
        self.lights: list[Light] = []
        self.problems: list[str] = []
        # Connected last: runs after the window and the tray took the new status.
        self.controller.status_changed.connect(self._on_status)
        self.window.show()

    def _on_status(self, view: StatusView) -> None:
        if not self.lights or self.lights[-1] is not view.light:
            self.lights.append(view.light)
        problem = disagreement(self.window, self.shell, view)
        if problem:
            self.problems.append(f"{view.light.value}: {problem}")

    def view(self) -> StatusView:
        view = self.window.status()
        assert view is not None
        return view

    def wait_light(self, *lights: Light, timeout: int = STEP_TIMEOUT_MS) -> StatusView:
        self.qtbot.waitUntil(lambda: self.view().light in lights, timeout=timeout)
        view = self.view()
        assert disagreement(self.window, self.shell, view) == ""
        assert self.problems == []
        return view

    def start(self) -> None:
        self.window.start_stop_action.trigger()
        self.qtbot.waitUntil(self.controller.is_running, timeout=5_000)

    def stop(self) -> None:
        self.window.start_stop_action.trigger()
        self.qtbot.waitUntil(lambda: not self.controller.is_running(), timeout=90_000)
        self.qtbot.wait(1)  # let queued polls land

    def use(self, url: str, *, throttling: bool | None = None) -> None:
        settings = replace(self.shell.settings(), backend_url=url)
        if throttling is not None:
            settings = replace(settings, adaptive_throttling=throttling)
        self.shell.apply(settings, "")

    def close(self) -> None:
        if self.controller.is_running():
            self.controller.stop()
            self.qtbot.waitUntil(lambda: not self.controller.is_running(), timeout=90_000)
        self.shell.hide_tray()
        self.window.hide()
        self.window.deleteLater()


def disagreement(window: MainWindow, shell: DesktopShell, view: StatusView) -> str:
    """"" if every view of the status says ``view``; else what disagrees."""
    lamp = window.lamp

    def shown(label) -> str:
        return label.text() if label.isVisibleTo(window) else ""

    checks = {
        "lamp light": (lamp.light(), view.light),
        "lamp reason": (lamp.reason(), view.reason),
        "lamp caption": (lamp.label_text(), view.label),
        "headline": (window.headline_label.text(), view.headline),
        "detail": (shown(window.detail_label), view.detail),
        "server badge": (shown(window.server_badge), view.server_line),
        "silent warning": (shown(window.silent_label), view.silent_line),
        "title": (window.windowTitle(), view.title()),
        "tray tooltip": (shell.tray.tooltip() if shell.tray is not None else view.tooltip(), view.tooltip()),
    }
    wrong = [f"{name} {seen!r} != {want!r}" for name, (seen, want) in checks.items() if seen != want]
    if view.light is Light.LIVE and any(word in window.server_status_label.text() for word in LOAD_WORDS):
        wrong.append(f"stale server warning beside green: {window.server_status_label.text()!r}")
    if view.headline and view.headline == view.detail:
        wrong.append("the detail repeats the headline")
    return "; ".join(wrong)


def assert_nothing_left_after_stop(rig: Rig) -> None:
    window = rig.window
    assert window.start_button.text() == "Start"
    assert all(panel.view() is None or panel.view().fill_ratio is None for panel in window.panels.values())
    assert all(meter.level() is None for meter in window.input_meters.meters.values())
    assert not window.connection_label.isVisibleTo(window)
    assert window.throttle_label.text() == "" and window.server_status_label.text() == ""
    assert not window.server_badge.isVisibleTo(window)
    assert window.chart.series("system") == [] and window.chart.series("mic") == []


@pytest.fixture
def rig(qtbot, qloop, tmp_path, tone_wavs, backends):
    made: list[Rig] = []

    def build(url: str) -> Rig:
        made.append(Rig(qtbot, tmp_path, tone_wavs, url))
        return made[-1]

    yield build
    for r in made:
        r.close()


def test_every_view_of_the_status_agrees_through_a_meeting_s_ups_and_downs(rig, backends, qtbot):
    # the overload starts 8 s in: by then the client has seen the backend's chunks (it learns their size
    # and pace from the first ones); an overload in the first seconds can cost a little audio even with
    # throttling on, which is the policy's open problem (issue 12), not what this test is about
    proc, url = backends("--rtf", "0.3", "--schedule", "1.8@8,0.3@18")
    r = rig(url)
    window = r.window
    assert r.view().light is Light.IDLE

    # 1. normal, then behind while throttling holds the audio back, then recovered
    r.use(url, throttling=True)
    r.start()
    r.wait_light(Light.UNKNOWN, Light.LIVE, timeout=30_000)
    live = r.wait_light(Light.LIVE)
    assert live.headline == "Live and complete" and live.server_line == "Backend load: normal"
    assert all(meter.level() is not None for meter in window.input_meters.meters.values())  # both measured
    behind = r.wait_light(Light.BEHIND)
    assert "behind" in behind.headline.lower(), behind
    recovered = r.wait_light(Light.LIVE)
    # Throttling held it back. On an idle machine nothing is lost (4 of 4 runs); on the 3-worker suite
    # the policy sometimes lets the server drop a little at the onset (issue 12, open; the overload
    # benchmark holds that target). This test is about the views agreeing: a loss, if any, is red and
    # named everywhere, and marked in the transcript.
    if Light.LOSING in r.lights:
        qtbot.waitUntil(lambda: "not transcribed" in window.transcript.plain_text(), timeout=STEP_TIMEOUT_MS)
    assert recovered.light is Light.LIVE
    r.stop()
    assert r.view().light is Light.IDLE
    assert_nothing_left_after_stop(r)

    # 2. throttling off: the overload loses audio (red, named), then recovered; the loss is marked
    r.lights.clear()
    r.use(url, throttling=False)
    r.start()
    r.wait_light(Light.LIVE)
    losing = r.wait_light(Light.LOSING)
    assert losing.headline == "Backend overloaded", losing
    assert "could not be transcribed" in losing.detail
    r.wait_light(Light.LIVE)  # recovered: the words say what was lost earlier, nothing stale remains
    assert "not transcribed: backend overloaded" in window.transcript.plain_text()
    r.stop()
    idle = r.view()
    assert idle.light is Light.IDLE and "could not be transcribed" in idle.headline
    assert_nothing_left_after_stop(r)
    doc = window.summary.document()
    assert doc is not None and doc.losses, "the summary and exports carry the loss"

    # 3. failed: the backend refuses the token; distinct from idle, says why, the tray says so too
    _, guarded = backends("--rtf", "0.3", "--token", "the-right-one")
    r.use(guarded)
    r.start()
    failed = r.wait_light(Light.FAILED)
    qtbot.waitUntil(lambda: not r.controller.is_running(), timeout=STEP_TIMEOUT_MS)
    failed = r.wait_light(Light.FAILED)
    assert failed.headline == "The session failed" and failed.detail, failed
    assert window.message_bar.current_text() == ""  # said once, beside the light
    assert not window.lines.action.isHidden()  # "Open Settings…": the token is fixed there
    assert r.shell.tray is not None and "Failed" in r.shell.tray.tooltip()

    # 4. the next session: the last one's error is gone, the light is not "failed"
    r.use(url)
    r.start()
    assert window.lines.action.isHidden()
    assert r.view().light is not Light.FAILED
    r.wait_light(Light.LIVE)

    # 5. the backend is killed mid-meeting: the connection is down (amber or red, says so), then Stop
    proc.kill()
    down = r.wait_light(Light.BEHIND, Light.LOSING)
    assert "connection" in f"{down.headline} {down.detail}".lower() or down.light is Light.LOSING, down
    r.stop()
    assert r.view().light in (Light.IDLE, Light.FAILED)
    assert_nothing_left_after_stop(r)
    assert r.problems == [], r.problems


def test_a_new_session_clears_a_failure_shown_by_a_stand_in_error(qtbot, qloop):
    """The controller's own failure path (the run task raised before any snapshot said so) shows
    "failed", not idle, and the next Start clears it."""
    from app.errors import AuthError

    class Refused:
        def snapshot(self):
            from app.core.session_state import ConnectionState, SessionSnapshot
            return SessionSnapshot(state=ConnectionState.CONNECTING)

        async def run(self) -> None:
            raise AuthError("The backend refused the token.")

        async def stop(self) -> None:
            return None

        def set_throttling(self, enabled: bool) -> None:
            pass

        def add_tick_listener(self, listener) -> None:
            pass

    window = MainWindow()
    qtbot.addWidget(window)
    controller = SessionController(lambda listener: Refused(), parent=window)
    bind(window, controller)
    controller.start()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=5_000)
    view = window.status()
    assert view is not None and view.light is Light.FAILED
    assert view.detail == "The backend refused the token."
    assert window.message_bar.current_text() == ""  # the light says it; not twice
    assert not window.lines.action.isHidden()  # a refused token is fixed in the settings
    controller.start()
    assert window.lines.action.isHidden()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=5_000)
