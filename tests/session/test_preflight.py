"""The checks behind the first-run check and "Test connection", against the reference backend on a
real socket and the virtual PulseAudio: what works says so, every failure says what to do."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from app.backend import BackendConfig, ReferenceBackend
from app.core.devices import DeviceKey
from app.core.endpoint import parse_endpoint
from app.session.preflight import CheckState, check_backend, check_microphone, check_system_audio


async def test_a_healthy_backend_passes_every_step() -> None:
    async with ReferenceBackend(BackendConfig(host="127.0.0.1", port=0, recognizer="simulated")) as backend:
        result = await check_backend(parse_endpoint(backend.ws_url), "")
    assert result.state is CheckState.OK and "streaming handshake answered" in result.summary
    assert result.fix == ""


async def test_a_refused_token_says_to_fix_the_token() -> None:
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", token="good")
    async with ReferenceBackend(config) as backend:
        result = await check_backend(parse_endpoint(backend.ws_url), "wrong")
    assert result.state is CheckState.FAILED and "token" in result.summary and "access token" in result.fix


async def test_a_loading_model_is_a_warning_with_what_to_wait_for() -> None:
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", load_seconds=30.0)
    async with ReferenceBackend(config) as backend:
        result = await check_backend(parse_endpoint(backend.ws_url), "")
    assert result.state is CheckState.WARNING and "not ready" in result.summary and "Wait" in result.fix


async def test_nothing_listening_fails_fast_with_what_to_check() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await check_backend(parse_endpoint(f"127.0.0.1:{port}"), "")
    assert result.state is CheckState.FAILED and "Cannot reach" in result.summary
    assert "running" in result.fix


@pytest.mark.audio
async def test_devices_on_the_virtual_sound_server(tmp_path: Path) -> None:
    from audio_env import MIC_SINK, ensure_virtual_audio, play_wav, tone_wav

    ensure_virtual_audio()
    silent = await check_microphone(None, seconds=0.5)  # nothing plays into the virtual mic
    assert silent.state is CheckState.WARNING and "silence" in silent.summary and "Unmute" in silent.fix
    player = play_wav(tone_wav(tmp_path / "tone.wav", 440.0, 5.0), MIC_SINK)
    try:
        heard = await check_microphone(None, seconds=1.0)
    finally:
        player.kill()
    assert heard.state is CheckState.OK and "dBFS" in heard.summary
    system = await check_system_audio(None, seconds=0.5)
    assert system.state is CheckState.OK and "monitor" in system.summary
    missing = await check_microphone(DeviceKey("No Such Mic", "ALSA"), seconds=0.2)
    assert missing.state is CheckState.FAILED and "No Such Mic" in missing.summary and missing.fix

