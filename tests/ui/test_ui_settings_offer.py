"""Errors the settings fix (a refused token, a clear-text token not allowed, a host that does not
exist) come with an "Open Settings…" button beside the failed light's reason (said once: not again
in the message bar); the button goes when the light leaves "failed"."""

from __future__ import annotations

from app.capture.replay import ReplaySource
from app.core.messages import Source
from app.core.session_state import ConnectionState, SessionSnapshot
from app.core.settings import Settings
from app.core.status_report import Light
from app.ui.binding import OPEN_SETTINGS, bind
from app.ui.builtin import BuiltinBackend
from app.ui.controller import SessionController
from app.ui.session_adapter import AppSession
from app.ui.window import MainWindow


def window_with_a_session(qtbot, settings: Settings, token: str, tone_wavs):
    window = MainWindow()
    qtbot.addWidget(window)

    def factory(listener):
        return AppSession(settings, lambda: token, listener, BuiltinBackend(),
                          lambda s: [ReplaySource(Source.MIC, tone_wavs["mic"])])

    controller = SessionController(factory, parent=window)
    bind(window, controller)
    return window, controller


def test_a_refusal_before_the_session_offers_the_settings(qtbot, qloop, tone_wavs):
    window, controller = window_with_a_session(qtbot, Settings(backend_url="ws://192.0.2.1:9"), "tok-x",
                                               tone_wavs)
    requested = []
    window.settings_requested.connect(lambda: requested.append(True))
    controller.start()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=10_000)
    view = window.status()
    assert view is not None and view.light is Light.FAILED
    assert "Refusing to send the access token unencrypted" in window.detail_label.text()
    assert window.message_bar.current_text() == ""  # said once, beside the light
    action = window.lines.action
    assert not action.isHidden() and action.text() == OPEN_SETTINGS
    action.click()
    assert requested == [True]
    controller.apply_snapshot(SessionSnapshot(state=ConnectionState.STREAMING))
    assert action.isHidden()  # the offer belonged to that failure only


def test_a_refused_token_during_the_session_offers_the_settings(qtbot, qloop, tone_wavs, embedded_backend):
    backend = embedded_backend(token="the-right-one")
    window, controller = window_with_a_session(qtbot, Settings(backend_url=backend.ws_url), "wrong-one",
                                               tone_wavs)
    controller.start()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=30_000)
    assert "refused the token" in window.detail_label.text() and not window.lines.action.isHidden()
