"""The real window, controller and sessions against the reference backend, with a real history
database: a meeting survives the Start of the next one and a Quit while streaming; "Quit now" still
saves; the History tab searches, opens, exports and deletes (with the recording)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import jsonschema
import pytest
import srt
from PySide6.QtCore import QSettings

from app.capture.replay import ReplaySource
from app.core.losses import LossCause, LossSpan
from app.core.messages import Card, CardsEvent, Source
from app.core.session_state import LossRecorded, SessionSnapshot, TranscriptChanged, TranscriptSegment
from app.core.settings import Settings
from app.history import History, MeetingInfo, MeetingState
from app.ui.binding import bind
from app.ui.builtin import BuiltinBackend
from app.ui.controller import SessionController
from app.ui.meeting_view import MeetingWindow
from app.ui.secrets import TokenStore
from app.ui.session_adapter import session_factory
from app.ui.settings_store import SettingsStore
from app.ui.shell import DesktopShell
from app.ui.shutdown import ShutdownDialog, finish_session
from app.ui.sources import DeviceLists
from app.ui.window import MainWindow

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "export-schema.json").read_text())


def replay_sources(wavs):
    def make(settings: Settings):
        return [ReplaySource(Source(s), wavs[s.value], loop=True) for s in settings.sources.sources]

    return make


@pytest.fixture
def app_with_history(qtbot, qloop, tmp_path, tone_wavs):
    """Window + controller + shell as app.main wires them, a real history in tmp, replayed sources."""
    built: dict = {}

    def build(backend_url: str, **settings: object):
        history = History.open(tmp_path / "data")
        store = SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        store.save(Settings(backend_url=backend_url, **settings))
        store.set_ui_value("first_run_checked", "1")
        window = MainWindow()
        holder = {}
        factory = session_factory(lambda: holder["shell"].settings(), lambda: "", BuiltinBackend(),
                                  replay_sources(tone_wavs), history=lambda: history)
        controller = SessionController(factory, parent=window)
        bind(window, controller)
        shell = DesktopShell(window, controller, store, TokenStore(), DeviceLists, tray_available=False,
                             history=history)
        holder["shell"] = shell
        shell.meetings.start(shell.settings(), history.recovered)
        shell.meetings.presenter.confirm = lambda parent, title, text: True  # "Yes" to "Delete …?"
        window.show()
        built.update(window=window, controller=controller, shell=shell, history=history)
        return window, controller, shell, history

    yield build
    controller = built.get("controller")
    if controller is not None and controller.is_running():
        controller.abort()
        qtbot.waitUntil(lambda: not controller.is_running(), timeout=20_000)
    if "shell" in built:  # as app.main does: the history pane's reader thread goes before the database
        built["shell"].meetings.close()
    if "history" in built:
        built["history"].close()
    if "window" in built:
        built["window"].hide()
        built["window"].deleteLater()


def meeting_rows(history: History):
    history.flush()
    return history.reader.list_meetings()


def stream_until_transcript(window, controller, qtbot) -> None:
    window.start_stop_action.trigger()
    qtbot.waitUntil(lambda: "[simulated speech" in window.transcript.plain_text(), timeout=20_000)


def test_a_meeting_survives_the_start_of_the_next_one(app_with_history, embedded_backend, qtbot):
    backend = embedded_backend(rtf=0.2)
    window, controller, _, history = app_with_history(backend.ws_url)
    stream_until_transcript(window, controller, qtbot)
    window.start_stop_action.trigger()  # Stop: flush, stop, summary
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=40_000)
    [first] = meeting_rows(history)
    assert first.state is MeetingState.COMPLETE and first.outcome == "summary" and first.segment_count > 0
    saved = history.reader.load(first.id)
    assert saved is not None and saved.summary_markdown

    window.start_stop_action.trigger()  # the next meeting: the window is cleared, the history is not
    qtbot.waitUntil(lambda: len(meeting_rows(history)) == 2, timeout=10_000)
    assert history.reader.load(first.id) == saved
    qtbot.waitUntil(lambda: len(window.history.texts()) == 2, timeout=10_000)
    assert window.history.texts()[0][4] == "Recording…"  # the new one, newest first
    controller.stop()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=40_000)
    qtbot.waitUntil(lambda: window.history.texts()[0][4] == "Complete", timeout=10_000)


def test_quit_while_streaming_stops_gracefully_and_saves(app_with_history, embedded_backend, qtbot):
    backend = embedded_backend(rtf=0.2)
    window, controller, _, history = app_with_history(backend.ws_url)
    stream_until_transcript(window, controller, qtbot)
    shown = []
    qtbot.waitUntil(lambda: controller.is_running(), timeout=5_000)

    async def save() -> None:
        shown.extend(d.isVisible() for d in window.findChildren(ShutdownDialog))
        await asyncio.get_running_loop().run_in_executor(None, history.flush)

    task = asyncio.ensure_future(finish_session(controller, window, show_after_ms=0, save=save))
    qtbot.waitUntil(task.done, timeout=60_000)
    assert task.result() is False and any(shown)  # it waited for the summary, with the dialog up
    [row] = meeting_rows(history)
    assert row.state is MeetingState.COMPLETE and row.outcome == "summary"
    meeting = history.reader.load(row.id)
    assert meeting is not None and meeting.summary_markdown and meeting.segments


def test_quit_now_still_saves_what_there_is(app_with_history, embedded_backend, qtbot):
    # slower than real time throughout: by the first transcript (after 6 s of work) the queues hold
    # seconds of audio, so the summary comes many seconds after Stop however busy the machine is
    # (a schedule that turned slow later raced Stop on a loaded machine: the summary could win)
    backend = embedded_backend(rtf=3.0)
    window, controller, _, history = app_with_history(backend.ws_url)
    stream_until_transcript(window, controller, qtbot)
    task = asyncio.ensure_future(finish_session(controller, window, show_after_ms=0,
                                                save=lambda: asyncio.sleep(0)))
    qtbot.waitUntil(lambda: window.findChild(ShutdownDialog) is not None, timeout=5_000)
    window.findChild(ShutdownDialog).quit_button.click()  # "Quit now"
    qtbot.waitUntil(task.done, timeout=20_000)
    assert task.result() is True  # quit now
    [row] = meeting_rows(history)
    assert row.state is MeetingState.COMPLETE and row.segment_count > 0  # saved, not lost
    assert row.outcome == "cancelled"


def test_history_search_open_export_and_delete_with_the_recording(app_with_history, embedded_backend,
                                                                 qtbot, tmp_path):
    backend = embedded_backend(rtf=0.2)
    window, controller, shell, history = app_with_history(backend.ws_url, record_audio=True)
    stream_until_transcript(window, controller, qtbot)
    controller.stop()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=40_000)
    add_meeting_with_losses(history)
    qtbot.waitUntil(lambda: len(window.history.texts()) == 2, timeout=10_000)
    recorded = next(r for r in meeting_rows(history) if r.has_audio)
    folder = history.recordings_dir / recorded.uid
    assert sorted(p.name for p in folder.iterdir()) == ["mic.wav", "system.wav"]

    window.tabs.setCurrentWidget(window.history)
    qtbot.keyClicks(window.history.search, "budget is due")  # a phrase from one transcript
    qtbot.waitUntil(lambda: len(window.history.texts()) == 1, timeout=5_000)
    assert "Budget planning" in window.history.texts()[0][2]
    assert window.history.texts()[0][3] == "13 s"  # what was not transcribed

    item = window.history.list.topLevelItem(0)
    window.history.list.setCurrentItem(item)
    window.history.open_button.click()
    qtbot.waitUntil(lambda: bool(shell.meetings.presenter.windows), timeout=5_000)
    viewer: MeetingWindow = shell.meetings.presenter.windows[0]
    text = viewer.browser.toPlainText()
    assert "System audio not transcribed: backend overloaded" in text and "budget is due on Friday" in text
    viewer.close()

    out = tmp_path / "exports"
    out.mkdir()
    exporter = shell.meetings.exporter
    formats = (("md", "Markdown (*.md)"), ("json", "JSON (*.json)"), ("srt", "SubRip subtitles (*.srt)"))
    for fmt, name in formats:
        exporter.chooser = lambda parent, default, filters, n=name, f=fmt: (str(out / f"meeting.{f}"), n)
        window.history.export_button.click()
        qtbot.waitUntil(lambda f=fmt: (out / f"meeting.{f}").exists(), timeout=5_000)
    md = (out / "meeting.md").read_text()
    for heading in ("## Summary", "## Actions", "## Transcript"):
        assert md.count(heading + "\n") == 1
    assert "- [00:20–00:33] _System audio not transcribed: backend overloaded._" in md
    assert "- **Date:** " in md
    jsonschema.validate(json.loads((out / "meeting.json").read_text()), SCHEMA)
    cues = list(srt.parse((out / "meeting.srt").read_text(), ignore_errors=False))
    assert any("not transcribed" in c.content for c in cues)
    assert exporter.default_folder() == out  # the last folder is remembered
    assert not list(out.glob(".*.tmp"))  # written atomically: no temporary file left

    window.history.search.clear()
    qtbot.waitUntil(lambda: len(window.history.texts()) == 2, timeout=5_000)
    row_index = next(i for i in range(2) if window.history.list.topLevelItem(i).data(0, 0x100) == recorded.id)
    window.history.list.setCurrentItem(window.history.list.topLevelItem(row_index))
    window.history.delete_button.click()
    qtbot.waitUntil(lambda: len(window.history.texts()) == 1, timeout=5_000)
    assert [r.id for r in meeting_rows(history)] != [recorded.id] and not folder.exists()


def add_meeting_with_losses(history: History) -> None:
    """A finished meeting with a loss span, as the lead's loss accounting will report it."""
    recorder = history.begin(MeetingInfo(1_790_000_000.0, backend="ws://backend", sources=("system", "mic")))
    for segment in (TranscriptSegment("mic", "The budget is due on Friday.", 3.0, 5.0, True),
                    TranscriptSegment("system", "Agreed, Friday it is.", 40.0, 42.0, True)):
        recorder.on_event(TranscriptChanged(segment.t1, segment))
    recorder.on_event(LossRecorded(33.0, LossSpan("system", 20.0, 33.0, LossCause.SERVER_DROP)))
    cards = CardsEvent(actions=(Card("Send the budget", owner="Ana"),))
    recorder.finish(SessionSnapshot(session_id="s-1", elapsed_seconds=60.0, cards=cards,
                                    summary_markdown="# Budget planning\n\nFriday.\n"), None)
    history.flush()
