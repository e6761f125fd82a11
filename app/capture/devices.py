"""Device access for capture: listing input devices, finding the Linux default sink with
pactl, resolving which device (and opening environment) a source uses. The choice itself is pure
logic in ``app.core.devices``; this module only gathers the facts from sounddevice and pactl.

Event-loop thread (or any thread while no stream is being opened); nothing here runs in callbacks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from types import ModuleType

from app.core.devices import (
    LINUX_PACKAGES_HINT,
    DeviceChoice,
    DeviceInfo,
    DeviceKey,
    Platform,
    choose_microphone,
    choose_system_audio,
    device_infos,
    parse_default_sink,
)
from app.core.messages import Source
from app.errors import DeviceFailedError, DeviceNotFoundError

log = logging.getLogger(__name__)

PACTL_TIMEOUT_SECONDS = 3.0


def sounddevice_module() -> ModuleType:
    """Import sounddevice lazily, turning a missing PortAudio library into a clear error."""
    try:
        import sounddevice

        module: ModuleType = sounddevice
        return module
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise DeviceFailedError(
            "The PortAudio library is missing, so no audio device can be opened. Install it "
            "(Debian/Ubuntu: sudo apt install libportaudio2; Fedora: sudo dnf install portaudio)."
        ) from exc


# ------------------------------------------------------------------------------ device listing


def list_input_devices() -> tuple[DeviceInfo, ...]:
    """Every input device PortAudio sees: name, host API, channels, default rate."""
    sd = sounddevice_module()
    return device_infos(list(sd.query_devices()), list(sd.query_hostapis()))


def default_input_index() -> int | None:
    sd = sounddevice_module()
    try:
        index = int(sd.default.device[0])
    except (TypeError, ValueError, IndexError):
        return None
    return index if index >= 0 else None


def linux_default_sink() -> str:
    """The PulseAudio/PipeWire default sink via pactl. Raises ``DeviceNotFoundError`` saying what to do."""
    for args in (["pactl", "get-default-sink"], ["pactl", "info"]):
        try:
            done = subprocess.run(
                args, capture_output=True, text=True, timeout=PACTL_TIMEOUT_SECONDS, check=False
            )
        except FileNotFoundError as exc:
            raise DeviceNotFoundError(
                f"System audio on Linux needs the pactl tool, which is not installed ({LINUX_PACKAGES_HINT})."
            ) from exc
        except subprocess.TimeoutExpired:
            continue
        sink = parse_default_sink(done.stdout) if done.returncode == 0 else None
        if sink:
            return sink
    raise DeviceNotFoundError(
        "No PulseAudio or PipeWire sound server answered (pactl could not read the default output), so "
        "system audio cannot be recorded. Start your desktop's sound server (PipeWire needs pipewire-pulse) "
        "or capture the microphone only."
    )


def resolve_device(
    source: Source, wanted: DeviceKey | None = None, platform: Platform | None = None
) -> DeviceChoice:
    """Which device (and opening env) to use for ``source``. Raises ``DeviceNotFoundError``."""
    devices = list_input_devices()
    if source is Source.MIC:
        return choose_microphone(devices, wanted, default_input_index())
    plat = platform or Platform.from_sys_platform(sys.platform)
    sink = linux_default_sink() if plat is Platform.LINUX and wanted is None else None
    return choose_system_audio(
        plat, devices, wanted=wanted, default_sink=sink, default_output_name=_default_output()
    )


def _default_output() -> str | None:
    sd = sounddevice_module()
    try:
        return str(sd.query_devices(kind="output")["name"])
    except Exception as exc:  # no output device at all is fine: it only ranks Windows loopback twins
        log.debug("no default output device (%s)", exc)
        return None


@contextlib.contextmanager
def env_while_opening(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` for the duration of a stream open, then restore exactly what was there.

    The ALSA pulse plugin reads PULSE_SOURCE when the PCM opens, so the system-audio stream gets
    the monitor while the microphone stream, opened outside this block, does not inherit it.
    """
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
