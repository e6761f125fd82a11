"""The real window, controller and session against the reference backend over a real socket, with
replayed sources: the lamp follows an overload episode, and throttling toggles live."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from app.backend import parse_schedule
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
from app.ui.window import MainWindow

pytestmark = pytest.mark.slow


def replay_sources(wavs):
    def make(settings: Settings):
        return [ReplaySource(Source(s), wavs[s.value], loop=True) for s in settings.sources.sources]

    return make


@pytest.fixture
def app_under_test(qtbot, qloop, tmp_path, tone_wavs):
    """Window + controller + shell wired as app.main does, sources replayed from WAVs."""
    built = {}

    def build(backend_url: str):
        store = SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        store.save(Settings(backend_url=backend_url, adaptive_throttling=False))  # each test turns it on
        window = MainWindow()  # not qtbot.addWidget: pytest-qt would delete it before the session stops
        holder = {}
        factory = session_factory(
            lambda: holder["shell"].settings(), lambda: "", BuiltinBackend(), replay_sources(tone_wavs)
        )
        controller = SessionController(factory, parent=window)
        bind(window, controller)
        shell = DesktopShell(window, controller, store, TokenStore(), DeviceLists, tray_available=False)
        holder["shell"] = shell
        window.show()
        built.update(window=window, controller=controller, shell=shell, store=store)
        return window, controller, shell

    yield build
    controller = built.get("controller")
    if controller is not None and controller.is_running():
        controller.stop()
        qtbot.waitUntil(lambda: not controller.is_running(), timeout=40_000)
    if "window" in built:
        built["window"].hide()
        built["window"].deleteLater()


def test_lamp_follows_an_overload_episode(app_under_test, embedded_backend, qtbot):
    backend = embedded_backend(rtf=0.3, schedule=parse_schedule("1.8@5,0.3@15"), queue_seconds=2.0)
    window, controller, _ = app_under_test(backend.ws_url)
    seen: list[Light] = []
    controller.status_changed.connect(lambda view: seen.append(view.light))
    lamp = window.lamp

    window.start_stop_action.trigger()  # Ctrl+Return / the Start button
    qtbot.waitUntil(lambda: lamp.light() is Light.LIVE, timeout=15_000)
    assert lamp.label_text() == "Live"
    assert window.start_button.text() == "Stop"

    qtbot.waitUntil(lambda: lamp.light() in (Light.BEHIND, Light.LOSING), timeout=20_000)
    assert lamp.reason() and lamp.reason() in lamp.accessibleDescription()
    assert lamp.label_text().lower() in lamp.accessibleName().lower()
    qtbot.waitUntil(lambda: lamp.light() is Light.LOSING, timeout=15_000)  # throttling is off
    assert "overloaded" in lamp.accessibleDescription()

    qtbot.waitUntil(lambda: lamp.light() is Light.LIVE, timeout=30_000)  # recovered after 15 s
    assert lamp.label_text() == "Live"
    first_live = seen.index(Light.LIVE)
    worst = seen.index(Light.LOSING)
    assert first_live < worst < len(seen) - 1 - seen[::-1].index(Light.LIVE)

    window.start_stop_action.trigger()  # stop: flush, stop, summary
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=40_000)
    assert lamp.light() is Light.IDLE
    assert window.start_button.text() == "Start"
    assert "[simulated speech" in window.transcript.plain_text()


def test_throttling_toggles_live_from_the_menu_and_the_settings(app_under_test, embedded_backend, qtbot):
    backend = embedded_backend(rtf=0.3)
    window, controller, shell = app_under_test(backend.ws_url)
    window.start_stop_action.trigger()
    qtbot.waitUntil(lambda: window.lamp.light() is Light.LIVE, timeout=15_000)
    window.diagnostics.set_expanded(True)  # what throttling does is diagnostics
    assert not window.throttle_label.isVisibleTo(window)

    window.throttle_action.trigger()  # the same QAction the tray menu shows
    assert controller.throttling() and shell.settings().adaptive_throttling
    # The session reports what throttling is doing; the window shows it only while it is on.
    qtbot.waitUntil(lambda: window.throttle_label.isVisibleTo(window), timeout=5_000)
    assert window.throttle_label.text().startswith("Adaptive throttling: ")
    assert controller.is_running()  # applied live, no restart

    shell.open_settings()  # the settings dialog, while the session runs
    dialog = shell.dialog()
    assert dialog is not None and dialog.throttle_check.isChecked()
    dialog.throttle_check.setChecked(False)
    assert not dialog.next_start_label.isVisibleTo(dialog)  # throttling needs no restart
    dialog.accept()
    assert not controller.throttling() and not window.throttle_action.isChecked()
    qtbot.waitUntil(lambda: not window.throttle_label.isVisibleTo(window), timeout=5_000)
    assert controller.is_running()
    reloaded, problems = SettingsStore(QSettings(shell._store.file_name(), QSettings.Format.IniFormat)).load()
    assert reloaded.adaptive_throttling is False and problems == []
