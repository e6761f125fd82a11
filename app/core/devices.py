"""Device choice, pure: given the device list PortAudio reports, pick the microphone and the
system-audio device for this platform, or explain exactly what the user has to do.

No audio library here: ``app.capture.devices`` queries sounddevice/pactl and passes plain values in, so every
platform's rules are tested on fake device lists. Devices are remembered by name + host API
(``DeviceKey``), never by index, because indices change whenever a device is plugged in.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.errors import DeviceNotFoundError


class Platform(enum.StrEnum):
    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"

    @classmethod
    def from_sys_platform(cls, value: str) -> Platform:
        if value.startswith("darwin"):
            return cls.MACOS
        if value.startswith(("win32", "cygwin")):
            return cls.WINDOWS
        return cls.LINUX


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """How settings remember a device."""

    name: str
    hostapi: str

    def __str__(self) -> str:
        return f"{self.name} ({self.hostapi})"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    index: int  # valid only for the current PortAudio session; never store it
    name: str
    hostapi: str
    max_input_channels: int
    default_samplerate: float

    @property
    def key(self) -> DeviceKey:
        return DeviceKey(self.name, self.hostapi)

    @property
    def capture_channels(self) -> int:
        """Channels to open: stereo at most (the framer downmixes anyway)."""
        return max(1, min(self.max_input_channels, 2))


@dataclass(frozen=True, slots=True)
class DeviceChoice:
    """What to open. ``env`` must be set while the stream OPENS (and restored right after)."""

    device: DeviceInfo
    description: str  # for people: "monitor of the default output 'meeting' (PulseAudio)"
    env: Mapping[str, str] = field(default_factory=dict)


def device_infos(
    devices: Sequence[Mapping[str, Any]], hostapis: Sequence[Mapping[str, Any]]
) -> tuple[DeviceInfo, ...]:
    """Input devices from ``sounddevice.query_devices()`` / ``query_hostapis()`` dicts."""
    names = [str(h.get("name", "?")) for h in hostapis]
    infos = []
    for i, d in enumerate(devices):
        channels = int(d.get("max_input_channels", 0))
        if channels <= 0:
            continue
        api = int(d.get("hostapi", -1))
        infos.append(
            DeviceInfo(
                index=int(d.get("index", i)),
                name=str(d.get("name", f"device {i}")),
                hostapi=names[api] if 0 <= api < len(names) else "?",
                max_input_channels=channels,
                default_samplerate=float(d.get("default_samplerate", 48000.0)),
            )
        )
    return tuple(infos)


class DeviceRole(enum.StrEnum):
    """What an input device is for, judged by its name (PortAudio reports no more than that)."""

    MICROPHONE = "microphone"  # a real input: a microphone, a headset, the sound server's default input
    LOOPBACK = "loopback"  # records what the computer plays: a monitor, Stereo Mix, BlackHole, a cable
    OUTPUT = "output"  # an output (sink) that PortAudio also lists with input channels: offer it for neither


LOOPBACK_WORDS = ("monitor", "loopback", "stereo mix", "what u hear", "wave out mix", "blackhole",
                  "soundflower", "cable output", "system audio", "system_capture", "system capture")
OUTPUT_WORDS = ("output", "speaker", "headphone", "hdmi", "spdif", "s/pdif", "iec958", "sink", "dmix")
# ALSA's output-only plugin PCMs, by exact name or "name:card" (names such as "Front Mic" are inputs).
ALSA_OUTPUT_PCMS = ("front", "rear", "center_lfe", "side", "surround21", "surround40", "surround41",
                    "surround50", "surround51", "surround71", "upmix", "vdownmix", "dmix")


def device_role(name: str) -> DeviceRole:
    """Loopback words win ("CABLE Output" records what is played); then output words; else a microphone."""
    lowered = name.lower()
    if any(word in lowered for word in LOOPBACK_WORDS):
        return DeviceRole.LOOPBACK
    words = re.split(r"[\s_:()\[\],-]+", lowered)
    alsa_output = lowered.split(":")[0] in ALSA_OUTPUT_PCMS
    if alsa_output or "out" in words or any(word in lowered for word in OUTPUT_WORDS):
        return DeviceRole.OUTPUT
    return DeviceRole.MICROPHONE


def find_device(devices: Sequence[DeviceInfo], wanted: DeviceKey) -> DeviceInfo | None:
    """The input device with this name and host API; failing that, the only one with this name."""
    for d in devices:
        if d.key == wanted:
            return d
    same_name = [d for d in devices if d.name == wanted.name]
    return same_name[0] if len(same_name) == 1 else None


def _remembered(devices: Sequence[DeviceInfo], wanted: DeviceKey, what: str, missing: str,
                described: str | None = None) -> DeviceChoice:
    """The device the user picked in settings, or ``DeviceNotFoundError`` saying what to do."""
    found = find_device(devices, wanted)
    if found is None:
        raise DeviceNotFoundError(f"The {what} {wanted} {missing}, or choose another {what} in Settings.")
    return DeviceChoice(found, f"{described or what} {found.key}")


def choose_microphone(
    devices: Sequence[DeviceInfo], wanted: DeviceKey | None, default_index: int | None
) -> DeviceChoice:
    """The remembered microphone, or the system default input. Raises ``DeviceNotFoundError``."""
    if wanted is not None:
        return _remembered(devices, wanted, "microphone", "is not connected. Plug it in")
    default = next((d for d in devices if d.index == default_index), None)
    if default is None and devices:
        default = devices[0]
    if default is None:
        raise DeviceNotFoundError(
            "No microphone found. Connect one (and allow this app to use it in your system's privacy "
            "settings), or capture system audio only."
        )
    return DeviceChoice(default, f"default microphone {default.key}")


def choose_system_audio(
    platform: Platform,
    devices: Sequence[DeviceInfo],
    *,
    wanted: DeviceKey | None = None,
    default_sink: str | None = None,
    default_output_name: str | None = None,
) -> DeviceChoice:
    """The device that records what this computer plays. Raises ``DeviceNotFoundError`` with what to do.

    ``wanted``: a device the user picked in settings (used as-is on every platform).
    ``default_sink`` (Linux): the PulseAudio/PipeWire default sink; its monitor is what we record.
    ``default_output_name`` (Windows): the default output, to prefer its WASAPI loopback twin.
    """
    if wanted is not None:
        return _remembered(devices, wanted, "system-audio device", "is not available. Reconnect it",
                           described="system audio from")
    if platform is Platform.LINUX:
        return _linux_system_audio(devices, default_sink)
    if platform is Platform.MACOS:
        return _macos_system_audio(devices)
    return _windows_system_audio(devices, default_output_name)


# ---------------------------------------------------------------------------------- Linux

LINUX_PACKAGES_HINT = (
    "Debian/Ubuntu: sudo apt install pulseaudio-utils libasound2-plugins; "
    "Fedora: sudo dnf install pulseaudio-utils alsa-plugins-pulseaudio; "
    "Arch: sudo pacman -S libpulse alsa-plugins"
)


def parse_default_sink(pactl_output: str) -> str | None:
    """The sink name from ``pactl get-default-sink`` (one line) or ``pactl info`` ("Default Sink: x")."""
    match = re.search(r"^Default Sink:\s*(\S+)\s*$", pactl_output, re.MULTILINE)
    if match:
        return match.group(1)
    lines = [line.strip() for line in pactl_output.splitlines() if line.strip()]
    if len(lines) == 1 and ":" not in lines[0] and " " not in lines[0]:
        return lines[0]
    return None


def _linux_system_audio(devices: Sequence[DeviceInfo], default_sink: str | None) -> DeviceChoice:
    # The ALSA "pulse" PCM (libasound2-plugins) reads PULSE_SOURCE when it opens, so it can record
    # the default sink's monitor without pavucontrol or config files; works on PipeWire via pipewire-pulse.
    if not default_sink:
        raise DeviceNotFoundError(
            "Could not find the default sound output, so system audio cannot be recorded. "
            "System audio on Linux needs PulseAudio or PipeWire (with pipewire-pulse) running and the "
            f"pactl tool ({LINUX_PACKAGES_HINT}). Or choose a system-audio device in Settings."
        )
    # Only the "pulse" PCM is known to be the pulse plugin: "default" may be PipeWire's own ALSA plugin,
    # which ignores PULSE_SOURCE and would silently record the microphone instead.
    pcm = next((d for d in devices if d.name == "pulse"), None)
    if pcm is None:
        raise DeviceNotFoundError(
            "PortAudio shows no 'pulse' ALSA device, so the monitor of the default output cannot be "
            f"opened. Install the ALSA PulseAudio plugin ({LINUX_PACKAGES_HINT}), or choose a "
            "system-audio device in Settings."
        )
    monitor = f"{default_sink}.monitor"
    return DeviceChoice(
        pcm,
        f"monitor of the default output '{default_sink}' (PulseAudio via ALSA '{pcm.name}')",
        {"PULSE_SOURCE": monitor},
    )


# ---------------------------------------------------------------------------------- macOS

MACOS_LOOPBACK_NAMES = ("blackhole", "loopback", "soundflower", "aggregate", "background music", "ishowu")

MACOS_HOWTO = (
    "No loopback device found, so system audio (the other meeting participants) cannot be recorded. "
    "Install BlackHole (free: 'brew install blackhole-2ch', or https://existential.audio/blackhole), "
    "then open Audio MIDI Setup, click + > Create Multi-Output Device, tick your speakers or headphones "
    "AND 'BlackHole 2ch', and select that Multi-Output Device as the output of your meeting app (or as "
    "the system output). Restart EchoPanel Companion; it will record from 'BlackHole 2ch'."
)


def _macos_system_audio(devices: Sequence[DeviceInfo]) -> DeviceChoice:
    for needle in MACOS_LOOPBACK_NAMES:  # in order of preference: dedicated loopback drivers first
        for d in devices:
            if needle in d.name.lower():
                return DeviceChoice(d, f"system audio via loopback device {d.key}")
    raise DeviceNotFoundError(MACOS_HOWTO)


# ---------------------------------------------------------------------------------- Windows

WINDOWS_LOOPBACK_NAMES = (
    "[loopback]",
    "stereo mix",
    "what u hear",
    "wave out mix",
    "loopback",
    "cable output",
)

WINDOWS_HOWTO = (
    "No loopback recording device found, so system audio cannot be recorded. Options: "
    "(1) enable 'Stereo Mix': Control Panel > Sound > Recording, right-click > Show Disabled Devices, "
    "right-click 'Stereo Mix' > Enable; "
    "(2) install VB-Audio Virtual Cable (https://vb-audio.com/Cable/) and set 'CABLE Input' as your "
    "meeting app's output (use 'Listen to this device' to still hear it); "
    "(3) use a PortAudio build with WASAPI loopback, whose devices appear as '... [Loopback]'. "
    "Then choose the device in Settings."
)


def _windows_system_audio(devices: Sequence[DeviceInfo], default_output_name: str | None) -> DeviceChoice:
    candidates = [d for d in devices if any(n in d.name.lower() for n in WINDOWS_LOOPBACK_NAMES)]
    if not candidates:
        raise DeviceNotFoundError(WINDOWS_HOWTO)

    def rank(d: DeviceInfo) -> tuple[int, int, int]:
        name = d.name.lower()
        twin = bool(default_output_name) and name.startswith(str(default_output_name).lower())
        wasapi = "wasapi" in d.hostapi.lower()
        order = next(i for i, n in enumerate(WINDOWS_LOOPBACK_NAMES) if n in name)
        return (0 if twin else 1, 0 if wasapi else 1, order)

    best = min(candidates, key=rank)
    return DeviceChoice(best, f"system audio via loopback device {best.key}")
