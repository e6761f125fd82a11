"""One status, every view of it: the words beside the light never repeat its label, a failed session
is not idle, nothing is "normal" before it was measured; loss markers in the live transcript and the
summary; input meters; the diagnostics panel remembers whether it is open."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from app.core.export import ExportDocument
from app.core.level import Level, LevelReport, SourceLoad
from app.core.losses import LossCause, LossSpan
from app.core.session_state import ConnectionState, SessionSnapshot, TranscriptSegment
from app.core.status_report import IDLE_STATUS, Light, StatusReport
from app.ui.binding import bind
from app.ui.controller import SessionController
from app.ui.present import input_levels
from app.ui.secrets import TokenStore
from app.ui.settings_store import SettingsStore
from app.ui.shell import DesktopShell
from app.ui.sources import DeviceLists
from app.ui.status_view import IDLE_HINT, status_of, status_view, view_of
from app.ui.summary import SummaryView
from app.ui.transcript import TranscriptPane
from app.ui.window import MainWindow

MEASURED = LevelReport(Level.NORMAL, "ok", (SourceLoad("mic", 0.2, 0.4, updated_at=5.0),))


def test_the_headline_never_repeats_the_label():
    idle = status_view(IDLE_STATUS)
    assert (idle.label, idle.headline) == ("Not streaming", IDLE_HINT)
    after = status_view(StatusReport(Light.IDLE, "Not streaming", "Last meeting: 12 s of audio could not be "
                                                                  "transcribed."))
    assert after.headline.startswith("Last meeting: 12 s") and after.detail == ""
    losing = status_view(StatusReport(Light.LOSING, "Losing audio: backend overloaded",
                                      "12 s of audio could not be transcribed."))
    assert (losing.label, losing.headline) == ("Losing audio", "Backend overloaded")
    assert losing.tooltip() == "EchoPanel Companion — Losing audio: Backend overloaded"
    live = status_view(StatusReport(Light.LIVE, "Live", "3 s of audio could not be transcribed earlier."))
    assert live.headline == "3 s of audio could not be transcribed earlier." and live.detail == ""


def test_a_failed_session_is_not_idle_and_says_why():
    snap = SessionSnapshot(state=ConnectionState.FAILED, error="Token refused", detail="Token refused")
    failed = view_of(snap)
    assert failed.light is Light.FAILED
    assert (failed.headline, failed.detail) == ("The session failed", "Token refused")
    assert failed.title().endswith("Failed")


def test_snapshots_not_made_by_a_status_model_still_say_the_truth():
    preparing = SessionSnapshot(state=ConnectionState.CHECKING, detail="Starting the built-in backend")
    assert status_of(preparing).light is Light.UNKNOWN  # never "Not streaming" while it starts
    stopping = SessionSnapshot(state=ConnectionState.STOPPING)
    assert status_of(stopping).headline == "Finishing"


def test_the_server_level_is_not_normal_before_any_measurement():
    waiting = LevelReport(Level.NORMAL, "Streaming, waiting for the first metrics")
    report = StatusReport(Light.UNKNOWN, "Not measured yet", server_level=Level.NORMAL)
    view = view_of(SessionSnapshot(state=ConnectionState.STREAMING, level=waiting, status=report))
    assert view.server_line == "Backend load: not reported"
    report = StatusReport(Light.LIVE, "Live and complete", server_level=Level.NORMAL)
    view = view_of(SessionSnapshot(state=ConnectionState.STREAMING, level=MEASURED, status=report))
    assert view.server_line == "Backend load: normal"


def test_the_silent_source_warning_names_the_source_and_goes_with_the_session():
    report = StatusReport(Light.LIVE, "Live and complete", silent_source="mic")
    warning = status_view(report).silent_line
    assert warning.startswith("⚠ Microphone silent for 30 s while system audio is not")
    assert status_view(StatusReport(Light.IDLE, "Not streaming", silent_source="mic")).silent_line == ""


def test_input_levels_only_while_capturing():
    snap = SessionSnapshot(state=ConnectionState.STREAMING, input_dbfs={"mic": -31.4, "system": -70.2})
    assert input_levels(snap) == (("system", -70.0), ("mic", -31.0))
    stopped = SessionSnapshot(state=ConnectionState.STOPPED, input_dbfs={"mic": -31.4})
    assert input_levels(stopped, frozenset({"mic"})) == (("system", None), ("mic", None))


def seg(t0: float, text: str) -> TranscriptSegment:
    return TranscriptSegment("mic", text, t0, t0 + 2.0, True)


def test_loss_markers_sit_where_the_audio_was_lost_and_follow_a_growing_span(qtbot):
    pane = TranscriptPane()
    qtbot.addWidget(pane)
    pane.set_segments((seg(10.0, "before"), seg(40.0, "after")))
    pane.set_losses((LossSpan("system", 20.0, 27.0, LossCause.SERVER_DROP),))
    lines = pane.plain_text().splitlines()
    assert lines == ["[00:10] Mic: before", "[00:20–00:27] System audio not transcribed: backend overloaded",
                     "[00:40] Mic: after"]
    pane.set_losses((LossSpan("system", 20.0, 33.0, LossCause.SERVER_DROP),))  # the span grew
    grown = "[00:20–00:33] System audio not transcribed: backend overloaded"
    assert pane.plain_text().splitlines()[1] == grown
    pane.set_segments((seg(10.0, "before"), seg(40.0, "after"), seg(50.0, "later")))
    assert len(pane.plain_text().splitlines()) == 4
    pane.clear()
    assert pane.plain_text() == ""


def test_the_summary_says_what_was_not_transcribed_beside_the_backend_summary(qtbot):
    view = SummaryView()
    qtbot.addWidget(view)
    view.show()
    doc = ExportDocument(session_id="s", segments=(seg(1.0, "hi"),), summary_markdown="# Notes\n\nAll good.",
                         losses=(LossSpan("system", 20.0, 33.0, LossCause.SERVER_DROP),))
    view.set_document(doc)
    text = view.browser.toPlainText()
    assert "All good." in text and "Not transcribed" in text
    assert "In all: 13 s (backend overloaded 13 s)." in text
    assert "[00:20–00:33] System audio not transcribed: backend overloaded" in text


def test_the_diagnostics_panel_is_closed_by_default_and_remembered(qtbot, tmp_path):
    def open_window() -> tuple[MainWindow, SettingsStore]:
        store = SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        window = MainWindow()
        qtbot.addWidget(window)
        controller = SessionController(None, parent=window)
        bind(window, controller)
        DesktopShell(window, controller, store, TokenStore(), DeviceLists, tray_available=False)
        return window, store

    window, _ = open_window()
    assert not window.diagnostics.is_expanded() and not window.chart.isVisibleTo(window)
    window.diagnostics.toggle_button.click()
    assert window.diagnostics.is_expanded() and window.chart.isVisibleTo(window)
    again, _ = open_window()
    assert again.diagnostics.is_expanded()
    again.diagnostics.toggle_button.click()
    third, _ = open_window()
    assert not third.diagnostics.is_expanded()


def test_a_new_loss_alone_updates_the_summary_document(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    controller = SessionController(None, parent=window)
    bind(window, controller)
    snap = SessionSnapshot(state=ConnectionState.STREAMING, session_id="s", transcript=(seg(1.0, "hi"),),
                           transcript_revision=1)
    controller.apply_snapshot(snap)
    doc = window.summary.document()
    assert doc is not None and doc.losses == ()
    lost = (LossSpan("mic", 3.0, 5.0, LossCause.IN_TRANSIT),)
    controller.apply_snapshot(SessionSnapshot(**{**{f: getattr(snap, f) for f in snap.__dataclass_fields__},
                                                 "losses": lost}))
    doc = window.summary.document()
    assert doc is not None and doc.losses == lost  # same transcript revision: the loss alone is news
