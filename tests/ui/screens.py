"""Render the History tab, Settings (with an address error), the first-run check and the quit dialog
to PNG files, for a person to look at: ``python tests/ui/screens.py OUTDIR light|dark``.

Run it on a real X server (Xvfb) with ``QT_SCALE_FACTOR=1`` or ``2``; it prints one JSON line per
picture: its file, the widget's size and whether it fits the screen's available area.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtCore import QSettings, QSize
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.core.losses import LossCause, LossSpan  # noqa: E402
from app.core.session_state import (  # noqa: E402
    LossRecorded,
    SessionEnded,
    SessionSnapshot,
    StopOutcome,
    SummaryReady,
    TranscriptChanged,
    TranscriptSegment,
)
from app.core.settings import Settings  # noqa: E402
from app.history import History, MeetingInfo  # noqa: E402
from app.history.records import Origin  # noqa: E402
from app.session.preflight import CheckResult, CheckState  # noqa: E402
from app.ui.binding import bind  # noqa: E402
from app.ui.check_dialog import CheckDialog  # noqa: E402
from app.ui.controller import SessionController  # noqa: E402
from app.ui.screen_fit import fits_screen  # noqa: E402
from app.ui.secrets import TokenStore  # noqa: E402
from app.ui.self_test import dark_palette  # noqa: E402
from app.ui.settings_dialog import SettingsDialog  # noqa: E402
from app.ui.settings_store import SettingsStore  # noqa: E402
from app.ui.shell import DesktopShell  # noqa: E402
from app.ui.shutdown import ShutdownDialog  # noqa: E402
from app.ui.sources import DeviceLists  # noqa: E402
from app.ui.window import MainWindow  # noqa: E402

TITLES = ("Quarterly budget review", "Weekly sync with the design team", "",
          "Customer call: Acme onboarding", "Incident review", "")
WORDS = ("Good morning everyone, let us start with the numbers for the third quarter",
         "Can everyone hear me? I will share my screen in a second")


KEEP: list[object] = []  # recorders of meetings still being recorded


def sample_history(folder: Path) -> History:
    history = History.open(folder)
    now = time.time()
    for index, title in enumerate(TITLES):
        started = now - index * 86_400 * 1.7 - 3_600
        recorder = history.begin(MeetingInfo(started, Origin.WINDOW if index % 3 else Origin.HEADLESS,
                                             "wss://echopanel.example.com", ("system", "mic")))
        for n in range(4):
            source = "mic" if n % 2 else "system"
            segment = TranscriptSegment(source, WORDS[n % 2], n * 9.0, n * 9.0 + 4, True)
            recorder.on_event(TranscriptChanged(segment.t1, segment))
        if index in (1, 3):
            span = LossSpan("system", 20.0, 20.0 + 6 * index, LossCause.SERVER_DROP)
            recorder.on_event(LossRecorded(30.0, span))
        if title:
            recorder.on_event(SummaryReady(50.0, f"# {title}\n\nNotes.", 4))
        if index == 0:
            KEEP.append(recorder)  # still recording
            continue
        if index == 2:
            recorder._lock.release()  # its app "crashed": recovered as interrupted at the next open
            continue
        outcome = StopOutcome.NO_SUMMARY if index == 5 else StopOutcome.SUMMARY
        elapsed = 600.0 + index * 1234.0
        recorder.finish(SessionSnapshot(session_id=f"s{index}", elapsed_seconds=elapsed),
                        SessionEnded(elapsed, outcome, {}, 0, 0))
    history.flush()
    history.close()
    return History.open(folder)  # recovers the "crashed" one; the one still recording is left alone


def save(widget: QWidget, out: Path, name: str) -> None:
    QApplication.processEvents()
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    size = widget.frameGeometry().size()
    print(json.dumps({"file": str(path), "width": size.width(), "height": size.height(),
                      "fits": fits_screen(widget)}), flush=True)


async def render(out: Path, folder: Path) -> None:
    history = sample_history(folder)
    store = SettingsStore(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    store.set_ui_value("first_run_checked", "1")
    window = MainWindow()
    controller = SessionController(None, parent=window)
    bind(window, controller)
    shell = DesktopShell(window, controller, store, TokenStore(), DeviceLists, tray_available=False,
                         history=history)
    shell.meetings.start(Settings(history_keep_days=90), [])
    shell.show_initial()
    await asyncio.sleep(0.1)
    window.tabs.setCurrentWidget(window.history)
    for _ in range(40):
        await asyncio.sleep(0.05)
        if len(window.history.texts()) == len(TITLES):
            break
    window.history.list.setCurrentItem(window.history.list.topLevelItem(1))
    save(window, out, "history")

    note = ("No system keyring was found (Secret Service, KWallet, Credential Manager or Keychain), so the "
            "token is kept for this run only. Install and unlock a keyring to keep it between runs.")
    settings = SettingsDialog(Settings(backend_url="ws://127.0.0.1:8931/ws/live-listener"), "secret", note,
                              DeviceLists(), parent=window, tester=lambda url, token: asyncio.sleep(0))
    settings.show()
    settings.select_page("History")
    save(settings, out, "settings-history")
    settings.select_page("Backend")
    settings.show()
    settings.backend.url_edit.setText("http//127.0.0.1:8931")
    save(settings, out, "settings-error")
    settings.hide()

    async def ok() -> CheckResult:
        return CheckResult(CheckState.OK, "Working: default microphone (PulseAudio via ALSA 'pulse'), "
                           "-18 dBFS peak.")

    async def warn() -> CheckResult:
        return CheckResult(CheckState.WARNING, "The backend at https://echopanel.example.com answers but is "
                           "not ready: model loading.", "Wait until its model has loaded, then check again.")

    async def failed() -> CheckResult:
        return CheckResult(CheckState.FAILED, "No PulseAudio or PipeWire sound server answered, so system "
                           "audio cannot be recorded.", "Choose a system-audio device in Settings, or "
                           "capture the microphone only (Settings > Audio > Sources).")

    check = CheckDialog([("Microphone", ok), ("System audio", failed), ("Backend", warn)], window, True)
    check.show()
    check.run()
    while check.running:
        await asyncio.sleep(0.02)
    save(check, out, "first-run-check")
    check.hide()

    quit_dialog = ShutdownDialog(window)
    quit_dialog.show()
    save(quit_dialog, out, "quit-dialog")
    if window.screen().availableGeometry().height() >= 600:
        window.resize(QSize(800, 600))
        window.tabs.setCurrentWidget(window.transcript)
        save(window, out, "window-800x600")
    history.close()


def main() -> int:
    out, theme = Path(sys.argv[1]), sys.argv[2]
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    app.setStyle(QStyleFactory.create("Fusion"))
    if theme == "dark":
        app.setPalette(dark_palette())
    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as folder, loop:
        loop.run_until_complete(render(out, Path(folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
