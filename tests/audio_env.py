"""The virtual PulseAudio for tests (packaging/virtual-audio.sh), plus small playback helpers.

    from audio_env import ensure_virtual_audio, play_wav, tone_wav
    env = ensure_virtual_audio()   # {"PULSE_SERVER": ..., "XDG_RUNTIME_DIR": ...} for subprocesses

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


@functools.cache
def ensure_virtual_audio() -> dict[str, str]:
    """Start (once per process) or reuse the virtual PulseAudio; return the client environment."""
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
    os.environ["PULSE_SERVER"] = env["PULSE_SERVER"]
    if "sounddevice" in sys.modules:  # PortAudio enumerates devices only when it initialises
        sd = sys.modules["sounddevice"]
        sd._terminate()
        sd._initialize()
    return env


def _stop(va_dir: str) -> None:
    _run_script("stop", va_dir)
    shutil.rmtree(va_dir, ignore_errors=True)


def pactl(*args: str) -> str:
    """Run pactl against the virtual server; return stdout (raises on failure)."""
    env = {**os.environ, **ensure_virtual_audio()}
    return subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, check=True).stdout


def play_wav(path: Path | str, sink: str) -> subprocess.Popen[bytes]:
    """Start ``paplay --device=SINK PATH``; the caller waits on (or kills) the returned process."""
    env = {**os.environ, **ensure_virtual_audio()}
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
