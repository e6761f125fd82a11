"""Settings dialog round-trip through QSettings (an ini file in tmp), the token kept out of every
file and log, keyring availability reported, URL validation, next-start note."""

from __future__ import annotations

import logging
from dataclasses import replace

import keyring.backend
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox

from app.core.settings import SCHEMA_VERSION, AudioEncoding, DeviceRef, Settings, SourceSelection
from app.ui.binding import bind
from app.ui.controller import SessionController
from app.ui.secrets import TokenStore, keyring_usable
from app.ui.settings_dialog import NEXT_START_NOTE, SettingsDialog
from app.ui.settings_store import SettingsStore
from app.ui.shell import DesktopShell
from app.ui.sources import DeviceLists
from app.ui.window import MainWindow

SECRET = "tok-5f1e9b2c-very-secret"
MIC = DeviceRef("USB Mic", "ALSA")


class MemoryKeyring(keyring.backend.KeyringBackend):
    """Stands in for the OS keyring, which cannot exist on a headless test machine."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        if (service, username) not in self.store:
            raise keyring.errors.PasswordDeleteError("none")
        del self.store[(service, username)]


def devices() -> DeviceLists:
    return DeviceLists(microphones=(MIC, DeviceRef("Built-in", "ALSA")), system=(DeviceRef("pulse", "ALSA"),))


@pytest.fixture
def ini(tmp_path):
    return tmp_path / "settings.ini"


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "app.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


def make_shell(qtbot, ini, tokens: TokenStore):
    window = MainWindow()
    qtbot.addWidget(window)
    controller = SessionController(None, parent=window)
    bind(window, controller)  # as app.main wires it
    store = SettingsStore(QSettings(str(ini), QSettings.Format.IniFormat))
    shell = DesktopShell(window, controller, store, tokens, devices, tray_available=False)
    return window, shell


def test_dialog_round_trip_through_qsettings_keeps_token_out_of_files_and_logs(qtbot, ini, log_file):
    memory = MemoryKeyring()
    window, shell = make_shell(qtbot, ini, TokenStore(memory))
    shell.open_settings()
    dialog = shell.dialog()
    assert dialog is not None and dialog.isVisible()
    assert "system keyring" in dialog.backend.token_note.text()
    dialog.backend.remote_radio.setChecked(True)
    dialog.backend.url_edit.setText("wss://echopanel.example.com")
    dialog.backend.token_edit.setText(SECRET)
    dialog.sources.set_choice("mic")
    dialog.sources.mic.setCurrentIndex(dialog.sources.mic.findText("USB Mic (ALSA)"))
    dialog.encoding.setCurrentIndex(dialog.encoding.findData("json"))
    dialog.throttle_check.setChecked(True)
    dialog.notify_check.setChecked(False)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: shell.dialog() is None)

    expected = Settings(
        backend_url="wss://echopanel.example.com/ws/live-listener",
        audio_encoding=AudioEncoding.JSON,
        sources=SourceSelection.MIC,
        mic_device=MIC,
        adaptive_throttling=True,
        notify_on_overload=False,
    )
    assert shell.settings() == expected
    reloaded, problems = SettingsStore(QSettings(str(ini), QSettings.Format.IniFormat)).load()
    assert (reloaded, problems) == (expected, [])
    assert shell.controller.throttling() is True  # applied live
    assert window.throttle_action.isChecked()
    assert window.source_picker.current_choice() == "mic"
    assert window.backend_label.text() == "Backend: wss://echopanel.example.com/ws/live-listener"
    assert memory.store == {("EchoPanel Companion", "backend-token"): SECRET}
    assert shell.token() == SECRET

    shell.save_geometry()
    logging.getLogger("app").info("flush marker")
    for path in (ini, log_file):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert SECRET not in text, path
    assert "backend/url" in ini.read_text() or "url=" in ini.read_text()


def test_without_a_keyring_the_dialog_says_the_token_is_for_this_session_only(qtbot, ini, log_file):
    tokens = TokenStore(keyring.backends.fail.Keyring())
    assert not tokens.persistent
    window, shell = make_shell(qtbot, ini, tokens)
    shell.open_settings()
    dialog = shell.dialog()
    assert "for this run only" in dialog.backend.token_note.text()
    dialog.backend.token_edit.setText(SECRET)
    dialog.accept()
    assert shell.token() == SECRET  # kept in memory
    assert "for this run only" in window.message_bar.current_text()
    assert SECRET not in ini.read_text()
    assert SECRET not in log_file.read_text()


def test_without_a_keyring_the_app_loads_no_secret_service_code_until_asked_why(tmp_path):
    """Why there is no keyring is worked out when the settings dialog asks, not at start-up: the answer
    imports SecretStorage and cryptography (about 11 MB of the window's memory for the whole run)."""
    import os
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from app.ui.secrets import TokenStore\n"
        "tokens = TokenStore()\n"
        "tokens.get()\n"
        "before = 'cryptography' in sys.modules or 'secretstorage' in sys.modules\n"
        "note = tokens.describe()\n"
        "print(before, 'for this run only' in note)\n"
    )
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "True"], done.stderr


def test_keyring_detection():
    import keyring.backends.chainer
    import keyring.backends.fail
    import keyring.backends.null

    assert not keyring_usable(keyring.backends.fail.Keyring())
    assert not keyring_usable(keyring.backends.null.Keyring())
    assert keyring_usable(MemoryKeyring())
    empty = keyring.backends.chainer.ChainerBackend()
    assert keyring_usable(empty) is bool(empty.backends)


def test_empty_token_deletes_it_from_the_keyring():
    memory = MemoryKeyring()
    tokens = TokenStore(memory)
    tokens.set(SECRET)
    tokens.set("")
    assert memory.store == {} and tokens.get() == ""
    tokens.set("")  # deleting nothing is fine


def test_bad_url_disables_ok_and_says_what_to_type(qtbot):
    dialog = SettingsDialog(Settings(), "", "note", devices())
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled() and not dialog.backend.url_edit.isEnabled()
    dialog.backend.remote_radio.setChecked(True)
    assert not ok.isEnabled()  # empty address
    dialog.backend.url_edit.setText("ftp://host")
    assert not ok.isEnabled()
    assert "ws, wss, http or https" in dialog.url_problem()
    dialog.backend.url_edit.setText("127.0.0.1:9000")
    assert ok.isEnabled() and dialog.url_problem() == ""
    assert dialog.settings().backend_url == "ws://127.0.0.1:9000/ws/live-listener"


def test_running_session_shows_the_next_start_note(qtbot):
    dialog = SettingsDialog(Settings(), "", "note", devices(), session_running=True)
    qtbot.addWidget(dialog)
    assert not dialog.next_start_label.isVisibleTo(dialog)
    dialog.throttle_check.setChecked(True)  # live: no note
    assert not dialog.next_start_label.isVisibleTo(dialog)
    dialog.sources.set_choice("system")
    dialog.sources.changed.emit()
    assert dialog.next_start_label.isVisibleTo(dialog)
    assert dialog.next_start_label.text() == NEXT_START_NOTE


def test_unplugged_saved_device_stays_selectable(qtbot):
    saved = DeviceRef("Old headset", "ALSA")
    dialog = SettingsDialog(replace(Settings(), mic_device=saved), "", "", DeviceLists())
    qtbot.addWidget(dialog)
    assert dialog.sources.current_mic() == saved
    assert dialog.settings().mic_device == saved


def test_window_geometry_is_remembered(qtbot, ini):
    window, shell = make_shell(qtbot, ini, TokenStore(MemoryKeyring()))
    window.show()
    window.resize(781, 702)  # the offscreen screen is 800x800
    qtbot.waitUntil(lambda: window.width() == 781)
    shell.save_geometry()
    window2, shell2 = make_shell(qtbot, ini, TokenStore(MemoryKeyring()))
    assert window2.width() != 781
    shell2.show_initial()
    assert window2.isVisible()
    assert (window2.width(), window2.height()) == (781, 702)


def test_a_v0_token_leaves_the_settings_file_on_the_first_load(qtbot, ini):
    ini.write_text(
        "[server]\nurl=ws://127.0.0.1:8000/ws/live-listener\ntoken=supersecret\n"
        "[audio]\nsource=microphone\n[window]\ngeometry=@ByteArray(keep-me)\n[stray]\nkey=1\n",
        encoding="utf-8",
    )
    window, _shell = make_shell(qtbot, ini, TokenStore(MemoryKeyring()))  # the app's load path
    text = ini.read_text(encoding="utf-8")
    assert "supersecret" not in text and "token=" not in text
    assert "[server]" not in text and "stray" not in text
    assert "keep-me" in text  # window state is the UI's and survives
    assert "mic" in text and f"schema_version={SCHEMA_VERSION}" in text  # migrated values are written back
    assert "keyring" in window.message_bar.current_text()  # the user is told once...
    window2, shell2 = make_shell(qtbot, ini, TokenStore(MemoryKeyring()))
    assert window2.message_bar.current_text() == ""  # ...and not again at the next start
    assert shell2.settings().backend_url == "ws://127.0.0.1:8000/ws/live-listener"


def test_saving_removes_stale_keys(qtbot, ini):
    store = SettingsStore(QSettings(str(ini), QSettings.Format.IniFormat))
    store.save(Settings())
    raw = QSettings(str(ini), QSettings.Format.IniFormat)
    raw.setValue("server/token", "late-secret")
    raw.setValue("window/state", "kept")
    raw.sync()
    store2 = SettingsStore(QSettings(str(ini), QSettings.Format.IniFormat))
    store2.save(replace(Settings(), adaptive_throttling=True))
    text = ini.read_text(encoding="utf-8")
    assert "late-secret" not in text and "kept" in text


def test_default_store_has_no_fallbacks():
    from app.ui.settings_store import default_qsettings

    assert default_qsettings().fallbacksEnabled() is False


def test_sending_the_token_unencrypted_is_allowed_per_url_with_a_warning(qtbot):
    dialog = SettingsDialog(Settings(), SECRET, "note", devices())
    qtbot.addWidget(dialog)
    dialog.backend.remote_radio.setChecked(True)
    dialog.backend.url_edit.setText("wss://10.1.2.3:8000")
    assert not dialog.backend.insecure_check.isEnabled()  # TLS: nothing to allow
    dialog.backend.url_edit.setText("ws://127.0.0.1:8000")
    assert not dialog.backend.insecure_check.isEnabled()  # this computer
    dialog.backend.url_edit.setText("ws://10.1.2.3:8000")
    assert dialog.backend.insecure_check.isEnabled() and not dialog.backend.insecure_check.isChecked()
    assert "unencrypted" in dialog.backend.insecure_check.text()
    assert "read the token" in dialog.backend.insecure_check.toolTip()
    assert dialog.settings().insecure_token_url == ""
    dialog.backend.insecure_check.setChecked(True)
    allowed = dialog.settings()
    assert allowed.insecure_token_url == allowed.backend_url == "ws://10.1.2.3:8000/ws/live-listener"
    dialog.backend.url_edit.setText("wss://10.1.2.3:8000")  # the permission goes with the URL
    assert dialog.settings().insecure_token_url == ""
    reopened = SettingsDialog(allowed, SECRET, "note", devices())
    qtbot.addWidget(reopened)
    assert reopened.backend.insecure_check.isChecked() and reopened.backend.insecure_check.isEnabled()


class BrokenKeyring(MemoryKeyring):
    """Stands in for a keyring backend that fails on use with something other than a KeyringError: the
    bundle's Secret Service backend did, with ImportError, on a machine without libcrypto (a machine
    this test cannot turn into)."""

    def get_password(self, service, username):
        raise ImportError("OpenSSL's libcrypto was not found")

    def set_password(self, service, username, password):
        raise ImportError("OpenSSL's libcrypto was not found")


def test_a_keyring_that_fails_on_use_keeps_the_token_for_this_run_and_says_why(qtbot, ini, log_file):
    tokens = TokenStore(BrokenKeyring())
    assert tokens.persistent  # it looked usable
    window, shell = make_shell(qtbot, ini, tokens)
    shell.open_settings()  # reads the token: no exception reaches the user
    dialog = shell.dialog()
    dialog.backend.token_edit.setText(SECRET)
    dialog.accept()
    assert shell.token() == SECRET and not tokens.persistent
    shown = window.message_bar.current_text()
    assert "kept for this run only" in shown and "libcrypto" in shown, shown
    assert SECRET not in log_file.read_text()


def test_the_keyring_is_read_once_then_the_token_is_kept_in_memory():
    class CountingKeyring(MemoryKeyring):
        reads = 0

        def get_password(self, service, username):
            CountingKeyring.reads += 1
            return super().get_password(service, username)

    backend = CountingKeyring()
    backend.store[("EchoPanel Companion", "backend-token")] = SECRET
    tokens = TokenStore(backend)
    assert [tokens.get() for _ in range(3)] == [SECRET] * 3 and CountingKeyring.reads == 1
