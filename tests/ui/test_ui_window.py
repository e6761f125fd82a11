"""The controller emits only on change and maps snapshots to plain values; the window's shortcuts,
message bar, panels and summary export."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QKeySequence

from app.core.level import Level, LevelReport, SourceLoad
from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity, Source
from app.core.session_state import ConnectionState, SessionSnapshot, SourceCounters, TranscriptSegment
from app.ui.binding import bind
from app.ui.controller import SessionController
from app.ui.message_bar import Severity
from app.ui.present import connection_view, export_document, source_views
from app.ui.window import MainWindow

REPORT = LevelReport(
    Level.BUFFERING,
    "system audio queue 90 % full (1.8 s backlog)",
    (SourceLoad("system", 0.9, 1.8, 0.0, 0.4, updated_at=5.0), SourceLoad("mic", 0.2, 0.4, updated_at=5.0)),
)
SNAP = SessionSnapshot(
    state=ConnectionState.STREAMING,
    session_id="abc12345-x",
    elapsed_seconds=65.7,
    level=REPORT,
    sources={Source.SYSTEM: SourceCounters(dropped_frames=50), Source.MIC: SourceCounters()},
    transcript=(
        TranscriptSegment("mic", "hello there", 1.0, 2.0, True),
        TranscriptSegment("system", "partial words", 3.0, 3.5, False),
    ),
    transcript_revision=3,
    cards=CardsEvent(actions=(Card("Send the deck", owner="Ana"),)),
    entities=EntitiesEvent(people=(Entity("Ana", "person", 2),)),
    reconnects=1,
    throttle_note="sending live",
)


@pytest.fixture
def wired(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    controller = SessionController(None, parent=window)
    bind(window, controller)
    return window, controller


def test_source_views_map_loads_and_client_drops():
    system, mic = source_views(SNAP)
    assert (system.source, system.active, system.fill_ratio, system.backlog_seconds) == (
        "system",
        True,
        0.9,
        1.8,
    )
    assert system.dropped_total_seconds == 0.4
    assert system.client_dropped_seconds == pytest.approx(1.0)  # 50 frames x 20 ms
    assert (mic.fill_ratio, mic.client_dropped_seconds) == (0.2, 0.0)
    idle_system, idle_mic = source_views(SessionSnapshot(), frozenset({"mic"}))
    assert not idle_system.active and idle_mic.active and idle_mic.fill_ratio is None


def test_connection_view_and_export_document():
    view = connection_view(SNAP, "Built-in backend", True)
    assert (view.state, view.elapsed_seconds, view.reconnects, view.running) == ("streaming", 65.0, 1, True)
    doc = export_document(SNAP)
    assert doc is not None and [s.text for s in doc.segments] == ["hello there"]
    assert export_document(SessionSnapshot()) is None
    failed = SessionSnapshot(state=ConnectionState.FAILED, error="Token refused")
    assert connection_view(failed, "x", False).detail == "Token refused"


def test_controller_emits_only_on_change(wired):
    window, controller = wired
    counts = {"level": 0, "sources": 0, "transcript": 0, "cards": 0}
    controller.level_changed.connect(lambda *_: counts.__setitem__("level", counts["level"] + 1))
    controller.sources_changed.connect(lambda *_: counts.__setitem__("sources", counts["sources"] + 1))
    controller.transcript_changed.connect(
        lambda *_: counts.__setitem__("transcript", counts["transcript"] + 1)
    )
    controller.cards_changed.connect(lambda *_: counts.__setitem__("cards", counts["cards"] + 1))
    for _ in range(5):
        controller.apply_snapshot(SNAP)
    assert counts == {"level": 1, "sources": 1, "transcript": 1, "cards": 1}
    controller.apply_snapshot(SessionSnapshot(**{**_fields(SNAP), "transcript_revision": 4}))
    assert counts["transcript"] == 2 and counts["level"] == 1

    assert window.lamp.level() is Level.BUFFERING
    assert window.reason_label.text() == REPORT.reason
    assert window.panels["system"].fill_bar.value() == 90
    assert "0.4 s total" in window.panels["system"].drops_label.text()
    assert window.connection_label.text().startswith("Streaming · 01:05 · 1 reconnect")
    assert window.throttle_label.text() == "Adaptive throttling: sending live"
    assert "Mic: hello there" in window.transcript.plain_text()
    assert "Send the deck (owner: Ana)" in window.cards.texts()
    assert "Ana ×2" in window.entities.texts()
    assert window.windowTitle().endswith("Buffering")


def _fields(snap: SessionSnapshot) -> dict:
    return {name: getattr(snap, name) for name in SessionSnapshot.__dataclass_fields__}


def test_shortcuts(wired):
    window, _ = wired
    assert window.start_stop_action.shortcut() == QKeySequence("Ctrl+Return")
    assert window.settings_action.shortcut() == QKeySequence("Ctrl+,")
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    fired = []
    window.start_stop_requested.connect(lambda: fired.append("start"))
    window.quit_requested.connect(lambda: fired.append("quit"))
    window.start_button.click()
    window.close()  # without a tray, closing the window means quit
    assert fired == ["start", "quit"]


def test_errors_reach_the_message_bar_not_a_traceback(wired):
    window, controller = wired
    controller.message.emit("The backend refused the token. Check it in Settings.", Severity.ERROR)
    assert window.message_bar.current_text() == "Error: The backend refused the token. Check it in Settings."
    window.message_bar.dismiss()
    assert window.message_bar.current_text() == ""


def test_summary_renders_when_its_tab_is_shown(wired, qtbot):
    window, controller = wired
    window.show()
    controller.apply_snapshot(SNAP)
    assert window.summary.browser.toPlainText() == ""  # hidden tab: not rendered yet
    window.tabs.setCurrentWidget(window.summary)
    assert "hello there" in window.summary.browser.toPlainText()
    assert "Live notes" in window.summary.origin_label.text()
    final = SessionSnapshot(**{**_fields(SNAP), "summary_markdown": "**Decided:** ship it"})
    controller.apply_snapshot(final)  # visible: rendered at once
    assert "Decided: ship it" in window.summary.browser.toPlainText()
    assert window.summary.origin_label.text() == "Final summary from the backend."
