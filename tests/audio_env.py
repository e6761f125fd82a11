"""The virtual PulseAudio for tests (packaging/virtual-audio.sh), plus small playback helpers.

    from audio_env import ensure_virtual_audio, play_wav, tone_wav
    env = ensure_virtual_audio()   # {"PULSE_SERVER": ..., "XDG_RUNTIME_DIR": ...} for subprocesses
    env = ensure_virtual_audio("pipewire")   # the same devices on PipeWire's PulseAudio layer

Sound servers: "pulseaudio" (default) or "pipewire" (pipewire + wireplumber + pipewire-pulse, started
by the same script with VA_SERVER=pipewire; its packages are installed then, as root, and only then).
Each server is started once per process; ``ensure_virtual_audio(server)`` makes it the current one
(this process's PULSE_SERVER, PortAudio re-initialised), and the helpers below play into the current one.

Devices: sink ``meeting`` is the default sink (its monitor = the app's "system audio"); sink
``mic_feed`` feeds source ``virtmic``, the default source (= the app's "microphone").

Lifetime: each test process gets its OWN daemon in a private runtime dir, so parallel test runs
never share or kill each other's server. It is stopped at interpreter exit, and the script's
watchdog (VA_OWNER_PID) stops it within ~1 s even if the test process is killed, so a run leaves
no stray daemon. Set ``VA_DIR`` to use (and not stop) an already running shared daemon instead,
e.g. the one ``packaging/dev.sh audio start`` starts in /tmp/virtual-audio.

This process gets PULSE_SERVER in ``os.environ`` (PortAudio's ALSA pulse plugin reads it); if
sounddevice was already imported, PortAudio is re-initialised so it sees the new devices.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "packaging" / "virtual-audio.sh"
SYSTEM_SINK = "meeting"  # play "system audio" here
MIC_SINK = "mic_feed"  # play "microphone" audio here


def _run_script(command: str, va_dir: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VA_DIR": va_dir, **extra}
    return subprocess.run(
        ["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, check=False
    )


def _pulse_answers(env: dict[str, str]) -> bool:
    probe = subprocess.run(["pactl", "info"], env={**os.environ, **env}, capture_output=True, check=False)
    return probe.returncode == 0


SERVERS = ("pulseaudio", "pipewire")
_current: dict[str, str] = {}  # the client env of the server this process uses now


def ensure_virtual_audio(server: str = "pulseaudio") -> dict[str, str]:
    """Start (once per process) or reuse the virtual sound server; make it this process's current
    one; return its client environment."""
    env = _started(server)
    if os.environ.get("PULSE_SERVER") != env["PULSE_SERVER"] or _current != env:
        os.environ["PULSE_SERVER"] = env["PULSE_SERVER"]
        _current.clear()
        _current.update(env)
        if "sounddevice" in sys.modules:  # PortAudio enumerates devices only when it initialises
            sd = sys.modules["sounddevice"]
            sd._terminate()
            sd._initialize()
    return dict(env)


@functools.cache
def _started(server: str) -> dict[str, str]:
    if server not in SERVERS:
        raise ValueError(f"unknown sound server {server!r}")
    if server == "pipewire":
        return _start_pipewire()
    missing = [tool for tool in ("pulseaudio", "pactl", "paplay") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"virtual audio needs {', '.join(missing)}: run 'packaging/dev.sh audio start' as root once "
            "(it installs pulseaudio and pulseaudio-utils)"
        )
    shared = os.environ.get("VA_DIR")
    va_dir = shared or tempfile.mkdtemp(prefix=f"echopanel-va-{os.getpid()}-")
    env = {"PULSE_SERVER": f"unix:{va_dir}/pulse/native", "XDG_RUNTIME_DIR": va_dir}
    if not (shared and _pulse_answers(env)):
        # A private daemon dies with this process (watchdog); a shared one is left running on purpose.
        owner = {} if shared else {"VA_OWNER_PID": str(os.getpid())}
        done = _run_script("start", va_dir, VA_SKIP_APT="1", **owner)
        if done.returncode != 0:
            raise RuntimeError(f"virtual-audio.sh start failed:\n{done.stdout}\n{done.stderr}")
        if not shared:
            atexit.register(_stop, va_dir)
    return env


def _start_pipewire() -> dict[str, str]:
    """A private PipeWire (never a shared one): installs its packages first if missing and root."""
    va_dir = tempfile.mkdtemp(prefix=f"echopanel-pw-{os.getpid()}-")
    done = _run_script("start", va_dir, VA_SERVER="pipewire", VA_OWNER_PID=str(os.getpid()))
    if done.returncode != 0:
        shutil.rmtree(va_dir, ignore_errors=True)
        raise RuntimeError(f"virtual-audio.sh start (PipeWire) failed:\n{done.stdout}\n{done.stderr}")
    atexit.register(_stop, va_dir)
    return {"PULSE_SERVER": f"unix:{va_dir}/pulse/native", "XDG_RUNTIME_DIR": va_dir}


def current_env() -> dict[str, str]:
    """The client env of the current server (the default one if none was chosen yet)."""
    return dict(_current) if _current else ensure_virtual_audio()


def _stop(va_dir: str) -> None:
    _run_script("stop", va_dir)
    shutil.rmtree(va_dir, ignore_errors=True)


def pactl(*args: str) -> str:
    """Run pactl against the virtual server; return stdout (raises on failure)."""
    env = {**os.environ, **current_env()}
    return subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, check=True).stdout


def play_wav(path: Path | str, sink: str) -> subprocess.Popen[bytes]:
    """Start ``paplay --device=SINK PATH``; the caller waits on (or kills) the returned process."""
    env = {**os.environ, **current_env()}
    return subprocess.Popen(["paplay", f"--device={sink}", str(path)], env=env)


def tone_wav(path: Path, freq: float, seconds: float, rate: int = 48000, amplitude: float = 0.5) -> Path:
    """Write a mono 16-bit sine WAV (numpy + wave, no sox needed)."""
    import wave

    import numpy as np

    t = np.arange(round(seconds * rate)) / rate
    pcm = np.round(amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def speech_wav(path: Path, text: str) -> Path:
    """espeak-ng speech as a WAV file (22.05 kHz mono 16-bit)."""
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return path
