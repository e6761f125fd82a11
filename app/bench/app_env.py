"""The world ``python -m app.bench app`` runs the app in: a private home (settings, data folder, logs),
a virtual display (Xvfb) with a system tray (trayer) when a mode needs them, the virtual sound server
(packaging/virtual-audio.sh, the tests' own) and speech played into both of its inputs for as long
as the run lasts. Everything started here is stopped by ``close()``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AUDIO_SCRIPT = ROOT / "packaging" / "virtual-audio.sh"
SYSTEM_SINK, MIC_SINK = "meeting", "mic_feed"
SYSTEM_TEXT = ("Good morning everyone. The quarterly budget review starts now. Revenue grew four percent "
               "in the third quarter, and the marketing team asked for two more people. ")
MIC_TEXT = ("Thanks. I have a question about the travel costs. Could we move the product launch to "
            "March, and send the summary to the whole team by Friday? ")


class BenchError(RuntimeError):
    """Something the bench needs is missing; the message says what to install or run."""


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BenchError(f"{tool} is needed: apt-get install {package} (or packaging/dev.sh bench ...)")
    return path


class SpeechLoop:
    """``paplay`` of one WAV into one sink, again and again until ``stop()``."""

    def __init__(self, wav: Path, sink: str, env: dict[str, str]) -> None:
        self._cmd = ["paplay", f"--device={sink}", str(wav)]
        self._env = env
        self._stop = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name=f"speech-{sink}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._proc = subprocess.Popen(self._cmd, env=self._env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
            self._proc.wait()
            self._stop.wait(1.0)  # a pause between "speakers"

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self._thread.join(5.0)


class BenchWorld:
    def __init__(self, sound_server: str = "pulseaudio") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="echopanel-bench-app-"))
        self.sound_server = sound_server
        self._va_dir = str(self.dir / "audio")
        self._procs: list[subprocess.Popen[bytes]] = []
        self._speech: list[SpeechLoop] = []
        self.audio_env: dict[str, str] = {}
        self.display = ""

    # -------------------------------------------------------------- sound
    def start_audio(self) -> None:
        need("paplay", "pulseaudio-utils")
        need("espeak-ng", "espeak-ng")
        env = {**os.environ, "VA_DIR": self._va_dir, "VA_OWNER_PID": str(os.getpid()), "VA_SKIP_APT": "1",
               "VA_SERVER": self.sound_server}
        done = subprocess.run(["bash", str(AUDIO_SCRIPT), "start"], env=env, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise BenchError(f"the virtual sound server did not start:\n{done.stdout}{done.stderr}")
        self.audio_env = {"PULSE_SERVER": f"unix:{self._va_dir}/pulse/native",
                          "XDG_RUNTIME_DIR": self._va_dir}

    def start_speech(self) -> None:
        env = {**os.environ, **self.audio_env}
        for text, sink, name in ((SYSTEM_TEXT, SYSTEM_SINK, "system"), (MIC_TEXT, MIC_SINK, "mic")):
            wav = self.dir / f"{name}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True,
                           capture_output=True)
            self._speech.append(SpeechLoop(wav, sink, env))

    # -------------------------------------------------------------- display
    def start_display(self, tray: bool) -> None:
        """Xvfb on a free display number (it says which), plus a system tray if asked."""
        xvfb = need("Xvfb", "xvfb")
        read, write = os.pipe()
        proc = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten",
                                 "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        os.close(write)
        self._procs.append(proc)
        with os.fdopen(read) as answer:
            number = answer.readline().strip()
        if not number:
            raise BenchError("Xvfb did not start")
        self.display = f":{number}"
        if tray:
            trayer = need("trayer", "trayer")
            self._procs.append(subprocess.Popen([trayer, "--edge", "top", "--align", "right"],
                                                env={**os.environ, "DISPLAY": self.display},
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(1.0)  # it takes the tray selection; the app asks for it at start

    # -------------------------------------------------------------- the app's private home
    def app_env(self, mode: str) -> dict[str, str]:
        home = self.dir / f"home-{mode}"
        home.mkdir(exist_ok=True)
        env = {key: value for key, value in os.environ.items()
               if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "DBUS_SESSION_BUS_ADDRESS")}
        env.update(self.audio_env)
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local"),
                   XDG_STATE_HOME=str(home / ".state"), XDG_CACHE_HOME=str(home / ".cache"),
                   ECHOPANEL_DATA_DIR=str(home / "data"),
                   # no secret service on the test machine: the keyring answers "no token" at once
                   PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
        if self.display:
            env["DISPLAY"] = self.display
        return env

    def write_settings(self, env: dict[str, str], backend_url: str) -> None:
        """What a user would set once: this backend, both sources, adaptive throttling on."""
        from app.core.settings import Settings
        from app.ui.bench_harness import write_user_settings  # the Qt side (QSettings) lives in app/ui

        write_user_settings(Path(env["XDG_CONFIG_HOME"]),
                            Settings(backend_url=backend_url, adaptive_throttling=True))

    def close(self) -> None:
        for loop in self._speech:
            loop.stop()
        for proc in reversed(self._procs):
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        if self.audio_env:
            subprocess.run(["bash", str(AUDIO_SCRIPT), "stop"], env={**os.environ, "VA_DIR": self._va_dir},
                           capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def transcript_size(data_dir: Path) -> tuple[int, int]:
    """Bytes of transcript text and segments stored in the app's meeting history (read-only)."""
    db = data_dir / "history.sqlite3"
    if not db.exists():
        return 0, 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)) as conn:
            row = conn.execute("SELECT COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0), COUNT(*) FROM segments")
            size, count = row.fetchone()
            return int(size), int(count)
    except sqlite3.Error:
        return 0, 0
