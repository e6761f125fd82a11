"""Device lists by role: microphones are real inputs; system audio is a monitor or a loopback;
outputs that PortAudio also lists as inputs (sinks, HDMI, ALSA output plugins) are offered for neither."""

from __future__ import annotations

import pytest

from app.core.devices import DeviceRole, device_role


@pytest.mark.parametrize(("name", "role"), [
    ("pulse", DeviceRole.MICROPHONE),
    ("default", DeviceRole.MICROPHONE),
    ("virtual_mic", DeviceRole.MICROPHONE),
    ("Front Mic", DeviceRole.MICROPHONE),
    ("HDA Intel PCH: ALC3246 Analog (hw:0,0)", DeviceRole.MICROPHONE),
    ("Microphone Array (Realtek(R) Audio)", DeviceRole.MICROPHONE),
    ("MacBook Pro Microphone", DeviceRole.MICROPHONE),
    ("Headset Microphone (Jabra Evolve 65)", DeviceRole.MICROPHONE),
    ("Monitor of Built-in Audio Analog Stereo", DeviceRole.LOOPBACK),
    ("system_capture", DeviceRole.LOOPBACK),
    ("Speakers (Realtek(R) Audio) [Loopback]", DeviceRole.LOOPBACK),
    ("Stereo Mix (Realtek(R) Audio)", DeviceRole.LOOPBACK),
    ("CABLE Output (VB-Audio Virtual Cable)", DeviceRole.LOOPBACK),
    ("BlackHole 2ch", DeviceRole.LOOPBACK),
    ("meeting_out", DeviceRole.OUTPUT),
    ("mic_feed_out", DeviceRole.OUTPUT),
    ("HDA Intel PCH: HDMI 0 (hw:0,3)", DeviceRole.OUTPUT),
    ("surround51:CARD=PCH,DEV=0", DeviceRole.OUTPUT),
    ("front", DeviceRole.OUTPUT),
    ("Speakers (Realtek(R) Audio)", DeviceRole.OUTPUT),
])
def test_device_role_by_name(name: str, role: DeviceRole) -> None:
    assert device_role(name) is role
