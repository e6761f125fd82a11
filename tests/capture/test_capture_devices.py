"""Device choice on fake device lists: macOS and Windows cannot exist on a Linux test machine, and
the Linux rules must not depend on what this machine happens to have."""

from __future__ import annotations

import pytest

from app.core.devices import (
    DeviceInfo,
    DeviceKey,
    Platform,
    choose_microphone,
    choose_system_audio,
    device_infos,
    find_device,
    parse_default_sink,
)
from app.errors import DeviceNotFoundError


def dev(index: int, name: str, hostapi: str = "ALSA", channels: int = 2, rate: float = 48000.0) -> DeviceInfo:
    return DeviceInfo(index, name, hostapi, channels, rate)


LINUX = [
    dev(0, "HDA Intel PCH: ALC257 Analog (hw:0,0)"),
    dev(1, "pulse", channels=32),
    dev(2, "default", channels=32),
]
MAC = [
    dev(0, "MacBook Pro Microphone", "Core Audio", 1),
    dev(1, "BlackHole 2ch", "Core Audio"),
    dev(2, "Aggregate Device", "Core Audio"),
]
WINDOWS = [
    dev(0, "Microphone (Realtek Audio)", "MME"),
    dev(1, "Stereo Mix (Realtek Audio)", "MME"),
    dev(2, "Headphones (USB Headset) [Loopback]", "Windows WASAPI"),
    dev(3, "Speakers (Realtek Audio) [Loopback]", "Windows WASAPI"),
    dev(4, "Microphone (Realtek Audio)", "Windows WASAPI"),
]


def test_platform_from_sys_platform() -> None:
    assert Platform.from_sys_platform("linux") is Platform.LINUX
    assert Platform.from_sys_platform("darwin") is Platform.MACOS
    assert Platform.from_sys_platform("win32") is Platform.WINDOWS


def test_device_infos_keeps_inputs_with_host_api_names() -> None:
    raw = [
        {"name": "Mic", "index": 0, "hostapi": 1, "max_input_channels": 1, "default_samplerate": 44100.0},
        {
            "name": "Speakers",
            "index": 1,
            "hostapi": 1,
            "max_input_channels": 0,
            "default_samplerate": 48000.0,
        },
    ]
    infos = device_infos(raw, [{"name": "MME"}, {"name": "Windows WASAPI"}])
    assert infos == (DeviceInfo(0, "Mic", "Windows WASAPI", 1, 44100.0),)
    assert infos[0].key == DeviceKey("Mic", "Windows WASAPI")
    assert infos[0].capture_channels == 1 and dev(0, "x", channels=32).capture_channels == 2


def test_devices_are_found_by_name_and_host_api_not_index() -> None:
    assert find_device(WINDOWS, DeviceKey("Microphone (Realtek Audio)", "Windows WASAPI")) == WINDOWS[4]
    assert find_device(WINDOWS, DeviceKey("Microphone (Realtek Audio)", "MME")) == WINDOWS[0]
    # The host API changed (e.g. another PortAudio build) but the name is unique: still found.
    assert find_device(MAC, DeviceKey("BlackHole 2ch", "CoreAudio")) == MAC[1]
    # Ambiguous name on an unknown host API: refuse to guess.
    assert find_device(WINDOWS, DeviceKey("Microphone (Realtek Audio)", "DirectSound")) is None


def test_microphone_remembered_default_and_missing() -> None:
    assert choose_microphone(MAC, DeviceKey("MacBook Pro Microphone", "Core Audio"), None).device == MAC[0]
    assert choose_microphone(LINUX, None, 2).device == LINUX[2]
    with pytest.raises(DeviceNotFoundError, match=r"USB Mic \(ALSA\) is not connected.*Settings"):
        choose_microphone(LINUX, DeviceKey("USB Mic", "ALSA"), 2)
    with pytest.raises(DeviceNotFoundError, match="No microphone found"):
        choose_microphone([], None, None)


def test_linux_system_audio_is_the_default_sink_monitor_through_the_pulse_pcm() -> None:
    choice = choose_system_audio(
        Platform.LINUX, LINUX, default_sink="alsa_output.pci-0000_00_1f.3.analog-stereo"
    )
    assert choice.device.name == "pulse"
    assert dict(choice.env) == {"PULSE_SOURCE": "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor"}
    assert "default output" in choice.description


def test_linux_without_a_sound_server_or_plugin_says_what_to_install() -> None:
    with pytest.raises(DeviceNotFoundError, match=r"pactl.*pulseaudio-utils"):
        choose_system_audio(Platform.LINUX, LINUX, default_sink=None)
    pipewire_only = [dev(0, "pipewire", channels=64), dev(1, "default", channels=64)]
    with pytest.raises(DeviceNotFoundError, match=r"no 'pulse' ALSA device.*libasound2-plugins"):
        choose_system_audio(Platform.LINUX, pipewire_only, default_sink="meeting")


def test_parse_default_sink_from_either_pactl_command() -> None:
    assert parse_default_sink("meeting\n") == "meeting"
    info = "Server String: /run/user/1000/pulse/native\nDefault Sink: alsa_output.usb\nDefault Source: x\n"
    assert parse_default_sink(info) == "alsa_output.usb"
    assert parse_default_sink("Connection failure: Connection refused\n") is None
    assert parse_default_sink("") is None


def test_macos_prefers_a_loopback_driver() -> None:
    choice = choose_system_audio(Platform.MACOS, MAC)
    assert choice.device.name == "BlackHole 2ch" and not choice.env
    aggregate_only = [MAC[0], MAC[2]]
    assert choose_system_audio(Platform.MACOS, aggregate_only).device.name == "Aggregate Device"


def test_macos_without_loopback_explains_blackhole_and_multi_output() -> None:
    with pytest.raises(DeviceNotFoundError) as err:
        choose_system_audio(Platform.MACOS, [MAC[0]])
    text = str(err.value)
    assert "BlackHole" in text and "Multi-Output Device" in text and "Audio MIDI Setup" in text


def test_windows_prefers_the_wasapi_loopback_of_the_default_output() -> None:
    choice = choose_system_audio(Platform.WINDOWS, WINDOWS, default_output_name="Speakers (Realtek Audio)")
    assert choice.device.name == "Speakers (Realtek Audio) [Loopback]"
    # Without a known default output, any WASAPI loopback beats Stereo Mix.
    assert "[Loopback]" in choose_system_audio(Platform.WINDOWS, WINDOWS).device.name
    stereo_mix_only = [WINDOWS[0], WINDOWS[1]]
    assert choose_system_audio(Platform.WINDOWS, stereo_mix_only).device.name.startswith("Stereo Mix")


def test_windows_without_loopback_lists_the_options() -> None:
    with pytest.raises(DeviceNotFoundError) as err:
        choose_system_audio(Platform.WINDOWS, [WINDOWS[0], WINDOWS[4]])
    text = str(err.value)
    assert "Stereo Mix" in text and "VB-Audio" in text and "[Loopback]" in text


@pytest.mark.parametrize("platform", list(Platform))
def test_a_device_picked_in_settings_wins_on_every_platform(platform: Platform) -> None:
    devices = [*LINUX, *MAC, *WINDOWS]
    wanted = DeviceKey("Stereo Mix (Realtek Audio)", "MME")
    choice = choose_system_audio(platform, devices, wanted=wanted, default_sink="meeting")
    assert choice.device.key == wanted and not choice.env
    with pytest.raises(DeviceNotFoundError, match=r"Gone Device.*not available"):
        choose_system_audio(platform, devices, wanted=DeviceKey("Gone Device", "MME"))
