"""The last-resort error reporter (one dialog at a time, no traceback text, the log path) and the
tray's rate-limited overload notification."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.core.status_report import Light
from app.errors import AuthError
from app.ui.error_hook import ErrorReporter, user_text
from app.ui.status_view import StatusView
from app.ui.tray import LevelTray, NotificationGate

LOG = Path("/var/log/echopanel/echopanel-companion.log")


def _raise(exc: BaseException):
    try:
        raise exc
    except BaseException as caught:  # the real (type, value, traceback) triple, as sys.excepthook gets it
        return type(caught), caught, caught.__traceback__


@pytest.fixture
def reporter(qtbot, caplog):
    rep = ErrorReporter(LOG)
    yield rep
    if rep.dialog() is not None:
        rep.dialog().done(0)


def test_one_dialog_at_a_time_without_traceback(reporter, caplog):
    reporter.excepthook(*_raise(ZeroDivisionError("division by zero")))
    dialog = reporter.dialog()
    assert dialog is not None and dialog.isVisible()
    text = dialog.text()
    assert "Traceback" not in text and "division by zero" not in text
    assert "ZeroDivisionError" in text
    assert str(LOG) in text
    assert "Traceback" in caplog.text  # the details go to the log

    reporter.excepthook(*_raise(ValueError("second")))
    assert reporter.dialog() is dialog  # not stacked
    assert reporter.suppressed == 1

    dialog.done(0)
    assert reporter.dialog() is None
    reporter.excepthook(*_raise(ValueError("third")))
    assert reporter.dialog() is not None and reporter.dialog() is not dialog


def test_app_errors_show_their_own_what_to_do_text():
    text = user_text(AuthError("The backend refused the token. Check it in Settings."), LOG)
    assert text.startswith("The backend refused the token. Check it in Settings.")
    assert f"Details are in the log file: {LOG}" in text


def test_asyncio_exceptions_are_logged_and_reported(reporter, caplog):
    loop = asyncio.new_event_loop()
    try:
        reporter.install_loop(loop)
        loop.call_exception_handler(
            {"message": "Task exception was never retrieved", "exception": RuntimeError("boom")}
        )
    finally:
        loop.close()
    assert reporter.dialog() is not None
    assert "RuntimeError" in reporter.dialog().text() and "boom" not in reporter.dialog().text()
    assert "boom" in caplog.text


def test_excepthook_is_installed_and_restored(reporter):
    import sys

    before = sys.excepthook
    reporter.install()
    assert sys.excepthook == reporter.excepthook
    reporter.uninstall()
    assert sys.excepthook is before


class StepClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_notification_gate_allows_one_per_interval():
    clock = StepClock()
    gate = NotificationGate(120.0, clock)
    assert gate.allow()
    clock.now = 119.0
    assert not gate.allow()
    clock.now = 120.0
    assert gate.allow()


def view(light: Light, headline: str, detail: str = "") -> StatusView:
    return StatusView(light, headline, detail)


def test_tray_notifies_on_red_at_most_every_two_minutes(qtbot):
    clock = StepClock()
    tray = LevelTray((), lambda: None, gate=NotificationGate(120.0, clock))
    try:
        tray.set_status(view(Light.LIVE, "Live and complete"))
        assert not tray.notified
        tray.set_status(view(Light.LOSING, "Backend overloaded", "3 s of audio could not be transcribed."))
        assert tray.notified
        assert tray.tooltip() == "EchoPanel Companion — Losing audio: Backend overloaded"
        clock.now = 30.0
        tray.set_status(view(Light.LIVE, "Live"))
        tray.set_status(view(Light.LOSING, "again"))
        assert not tray.notified  # within 2 minutes of the last one
        clock.now = 200.0
        tray.set_status(view(Light.BEHIND, "Transcript 4 s behind, catching up"))
        assert not tray.notified  # amber: behind, nothing lost, no notification
        tray.set_status(view(Light.LOSING, "later"))
        assert tray.notified
        clock.now = 400.0
        tray.set_status(view(Light.LIVE, "Live"))
        tray.set_status(view(Light.LOSING, "muted"), notify=False)  # the user turned notifications off
        assert not tray.notified
        clock.now = 600.0
        tray.set_status(view(Light.FAILED, "The session failed", "Token refused"))
        assert tray.notified  # a failed session notifies too
        assert tray.tooltip() == "EchoPanel Companion — Failed: The session failed"
        assert not tray.icon.icon().isNull()
    finally:
        tray.hide()
