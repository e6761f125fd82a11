"""Start-up (issue 17, start to first window): the window is built and shown before the audio devices
are listed, the keyring is found and the session's modules are imported; the device pickers show the
saved choices first and the lists fill in after; the first-run check and ``--start`` come after the
device lists; and the real app reaches its first window with none of that loaded, then runs on."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QWidget
from test_ui_main import app_env, ready_app
from test_ui_settings import MemoryKeyring

from app.core.settings import DeviceRef, Settings
from app.ui.binding import bind
from app.ui.controller import SessionController
from app.ui.secrets import TokenStore
from app.ui.settings_store import SettingsStore
from app.ui.shell import DesktopShell
from app.ui.sources import DeviceLists
from app.ui.startup import after_first_frame, load_devices, when_on_screen
from app.ui.window import MainWindow

SAVED_MIC = DeviceRef("Saved Headset", "ALSA")
LISTED = DeviceLists(microphones=(DeviceRef("USB Mic", "ALSA"), SAVED_MIC),
                     system=(DeviceRef("Monitor", "ALSA"),))
# What the first window must not wait for: the session and its audio/network layers, the keyring.
DEFERRED_MODULES = ("numpy", "websockets", "sounddevice", "keyring", "app.session", "app.capture.live",
                    "app.backend.server")


def items(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


@pytest.fixture
def shell_with_lister(qtbot, tmp_path):
    listed: list[int] = []

    def lister() -> DeviceLists:
        listed.append(1)
        return LISTED

    window = MainWindow()
    qtbot.addWidget(window)
    controller = SessionController(None, parent=window)
    bind(window, controller)
    store = SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    store.save(Settings(mic_device=SAVED_MIC))
    shell = DesktopShell(window, controller, store, TokenStore(MemoryKeyring()), lister, tray_available=False)
    return window, shell, listed


def test_the_window_is_built_without_listing_devices_and_the_lists_fill_in_after(shell_with_lister):
    window, shell, listed = shell_with_lister
    picker = window.source_picker
    assert listed == []  # building the shell (before the window shows) starts no PortAudio
    assert items(picker.mic) == ["System default", "Saved Headset (ALSA)"]  # the saved choice, at once
    assert picker.current_mic() == SAVED_MIC
    assert items(picker.system) == ["System default"]

    load_devices(shell)

    assert listed == [1]
    assert items(picker.mic) == ["System default", "USB Mic (ALSA)", "Saved Headset (ALSA)"]
    assert picker.current_mic() == SAVED_MIC  # still the user's choice
    assert items(picker.system) == ["System default", "Monitor (ALSA)"]


def test_a_device_picked_before_the_lists_arrive_stays_picked(shell_with_lister):
    window, shell, _ = shell_with_lister
    picker = window.source_picker
    picker.mic.setCurrentIndex(0)  # "System default", the one other choice offered so far
    assert shell.settings().mic_device is None

    load_devices(shell)

    assert picker.current_mic() is None
    assert shell.settings().mic_device is None


class PaintRecorder(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.painted = False

    def paintEvent(self, event: QPaintEvent) -> None:  # a Qt override
        self.painted = True
        super().paintEvent(event)


def test_when_on_screen_runs_after_the_first_paint(qtbot):
    window = PaintRecorder()
    qtbot.addWidget(window)
    seen: list[bool] = []
    window.resize(300, 200)
    window.show()
    watcher = when_on_screen(window, lambda: seen.append(window.painted))
    assert seen == []  # not from inside show()
    qtbot.waitUntil(lambda: seen != [])
    qtbot.wait(50)
    assert seen == [True] and watcher is not None  # once, with the window painted


def test_when_on_screen_does_not_wait_for_a_window_that_is_not_shown(qtbot):
    window = QWidget()  # the app started in the tray
    qtbot.addWidget(window)
    seen: list[str] = []
    when_on_screen(window, lambda: seen.append("ran"))
    qtbot.waitUntil(lambda: seen == ["ran"])


def test_after_the_first_frame_the_devices_are_listed_before_the_check_or_start(shell_with_lister, qloop,
                                                                                 qtbot):
    _, shell, listed = shell_with_lister
    order: list[str] = []
    tokens = TokenStore(MemoryKeyring())
    pending = after_first_frame(shell, tokens, lambda: order.append(f"then {len(listed)}"))
    assert order == ["then 1"]  # the devices were listed (on this thread) before --start or the check
    qtbot.waitUntil(lambda: all(f.done() for f in pending), timeout=30_000)
    assert "app.session" in sys.modules  # preloaded for the first Start


@pytest.mark.slow
def test_the_real_app_shows_its_first_window_before_loading_the_session_keyring_or_audio(tmp_path):
    """A first start (fresh home: the first-run check opens too), as a user runs it."""
    spy = (
        "import sys\n"
        "import app.ui.startup as startup\n"
        "real = startup.after_first_frame\n"
        "def spy(*args, **kwargs):\n"
        f"    loaded = [m for m in {DEFERRED_MODULES!r} if m in sys.modules]\n"
        "    print('loaded at the first frame:', loaded, file=sys.stderr, flush=True)\n"
        "    return real(*args, **kwargs)\n"
        "startup.after_first_frame = spy\n"
        "from app.main import run\n"
        "sys.exit(run([]))\n"
    )
    env = app_env(tmp_path, QT_QPA_PLATFORM="offscreen", ECHOPANEL_REPORT_FIRST_SHOW="1")
    with ready_app([sys.executable, "-c", spy], env, tmp_path, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE) as proc:  # the event loop runs on after the first frame
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "loaded at the first frame: []" in stderr, stderr
    assert "first-window-shown" in stderr
    assert "Traceback" not in stderr

