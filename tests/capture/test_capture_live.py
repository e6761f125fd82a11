"""Real capture through PortAudio from the virtual PulseAudio (packaging/virtual-audio.sh): the app's
own LiveSource records "system audio" (monitor of the default sink ``meeting``) and the microphone
(default source ``virtmic`` = what is played into ``mic_feed``) at the same time."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soxr
from audio_env import MIC_SINK, SCRIPT, SYSTEM_SINK, pactl, play_wav, speech_wav

from app.capture.devices import list_input_devices
from app.capture.live import LiveSource
from app.core.devices import DeviceKey
from app.core.framing import Frame
from app.core.messages import Source
from app.errors import DeviceFailedError, DeviceNotFoundError

pytestmark = [pytest.mark.audio, pytest.mark.usefixtures("virtual_audio")]


def pcm_of(frames: list[Frame]) -> np.ndarray:
    return np.frombuffer(b"".join(f.pcm for f in frames), dtype="<i2").astype(np.float64) / 32768


def read_wav_16k(path: Path) -> np.ndarray:
    import wave

    with wave.open(str(path), "rb") as w:
        rate, data = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")
    return np.asarray(soxr.resample(data.astype(np.float64) / 32768, rate, 16000))


def chirp_wav(path: Path, seconds: float = 2.0, rate: int = 48000) -> Path:
    import wave

    t = np.arange(round(seconds * rate)) / rate
    freq = 300 + (3000 - 300) * t / seconds / 2  # instantaneous 300 → 3000 Hz
    pcm = np.round(0.4 * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def similarity(captured: np.ndarray, reference: np.ndarray) -> float:
    """Pearson correlation of ``reference`` with the best-aligned stretch of ``captured``."""
    n = len(captured) + len(reference)
    spectrum = np.fft.rfft(captured, n) * np.conj(np.fft.rfft(reference, n))
    lag = int(np.argmax(np.fft.irfft(spectrum, n)[: len(captured)]))
    segment = captured[lag : lag + len(reference)]
    ref = reference[: len(segment)]
    if len(segment) < len(reference) // 2 or segment.std() == 0:
        return 0.0
    return float(np.corrcoef(segment, ref)[0, 1])


async def capture_while(
    sources: list[LiveSource], done: Callable[[], bool], extra: float = 0.3, limit: float = 15.0,
    first_read: list[float | None] | None = None,
) -> list[list[Frame]]:
    """Poll every source on a 20 ms cadence (as the session does) until ``done()`` plus ``extra``
    seconds, or ``limit`` seconds at most (the caller's assertions then fail). ``first_read``, if
    given, receives per source the clock time of the first read that returned frames."""
    got: list[list[Frame]] = [[] for _ in sources]
    deadline = None
    give_up = time.monotonic() + limit
    while (deadline is None or time.monotonic() < deadline) and time.monotonic() < give_up:
        for i, src in enumerate(sources):
            frames = src.read_frames()
            if frames and first_read is not None and first_read[i] is None:
                first_read[i] = time.monotonic()
            got[i] += frames
        if deadline is None and done():
            deadline = time.monotonic() + extra
        await asyncio.sleep(0.02)
    return got


async def test_system_audio_and_microphone_each_capture_their_own_sink(tmp_path: Path,
                                                                      sound_server: str) -> None:
    """On PulseAudio and on PipeWire (pipewire-pulse): "zero-config system audio" shown on both."""
    on_pipewire = "(on PipeWire" in pactl("info")  # "Server Name: PulseAudio (on PipeWire 0.3.65)"
    assert on_pipewire == (sound_server == "pipewire")
    speech = speech_wav(tmp_path / "speech.wav", "The quarterly budget review starts at nine tomorrow.")
    chirp = chirp_wav(tmp_path / "chirp.wav")
    system, mic = LiveSource(Source.SYSTEM), LiveSource(Source.MIC)
    started = time.monotonic()
    await system.start()
    await mic.start()
    assert f"default output '{SYSTEM_SINK}'" in system.description
    players = [play_wav(speech, SYSTEM_SINK), play_wav(chirp, MIC_SINK)]
    first_read: list[float | None] = [None, None]
    try:
        sys_frames, mic_frames = await capture_while(
            [system, mic], lambda: all(p.poll() is not None for p in players), first_read=first_read
        )
    finally:
        for p in players:
            p.kill()
            p.wait()
    await system.stop()
    await mic.stop()
    sys_frames += system.read_frames()
    mic_frames += mic.read_frames()
    assert system.finished and mic.finished and system.fault is None and mic.fault is None

    speech_ref, chirp_ref = read_wav_16k(speech), read_wav_16k(chirp)
    sys_pcm, mic_pcm = pcm_of(sys_frames), pcm_of(mic_frames)
    assert similarity(sys_pcm, speech_ref) > 0.9
    assert similarity(mic_pcm, chirp_ref) > 0.9
    assert abs(similarity(sys_pcm, chirp_ref)) < 0.3  # no cross-talk between the two sources
    assert abs(similarity(mic_pcm, speech_ref)) < 0.3

    for src, frames, read_at in ((system, sys_frames, first_read[0]), (mic, mic_frames, first_read[1])):
        assert all(f.source is src.source for f in frames)
        assert [f.index for f in frames] == list(range(len(frames)))
        times = np.array([f.capture_time for f in frames])
        assert (np.diff(times) > 0).all()
        # The first frame was captured after the stream was asked for and before it was read: true on
        # a machine of any speed (opening a PulseAudio stream can take a second under load). The
        # lower margin is the capture clock's estimation error (app.capture.BlockClock).
        assert read_at is not None and started - 0.5 < times[0] < read_at
        counters = src.counters()
        assert counters.captured_frames == len(frames) and counters.handoff_drops == 0


async def test_a_missing_microphone_is_a_clear_error() -> None:
    with pytest.raises(DeviceNotFoundError, match=r"microphone No Such Mic \(ALSA\) is not connected"):
        await LiveSource(Source.MIC, DeviceKey("No Such Mic", "ALSA")).start()


async def test_system_audio_without_pactl_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without pulseaudio-utils
    with pytest.raises(DeviceNotFoundError, match=r"pactl.*apt install pulseaudio-utils"):
        await LiveSource(Source.SYSTEM).start()


async def test_a_device_that_stops_delivering_faults_and_the_other_source_continues() -> None:
    mic = LiveSource(Source.MIC, no_data_seconds=0.5)
    system = LiveSource(Source.SYSTEM)
    await mic.start()
    await system.start()
    pactl("suspend-source", "virtmic", "1")  # the microphone goes silent, like an unplugged USB mic
    try:
        # a second after the fault: 240 ms device blocks come in bursts on a busy machine
        _, sys_frames = await capture_while([mic, system], lambda: mic.fault is not None, extra=1.2)
        assert isinstance(mic.fault, DeviceFailedError)
        assert "delivered no audio" in str(mic.fault) and "microphone" in str(mic.fault)
        assert mic.finished and mic.read_frames() == []
        assert system.fault is None and len(sys_frames) > 40  # kept streaming through the mic's failure
    finally:  # a stream left open outlives the test and can crash its worker later (seen: a segfault)
        pactl("suspend-source", "virtmic", "0")
        await mic.stop()  # harmless after a fault
        await system.stop()


async def test_a_sound_server_crash_mid_session_is_a_device_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    va_dir = tempfile.mkdtemp(prefix="echopanel-va-crash-")
    env = {**os.environ, "VA_DIR": va_dir, "VA_SKIP_APT": "1", "VA_OWNER_PID": str(os.getpid())}
    subprocess.run(["bash", str(SCRIPT), "start"], env=env, check=True, capture_output=True)
    try:
        mic = LiveSource(Source.MIC)
        with monkeypatch.context() as patch:  # the ALSA pulse plugin reads PULSE_SERVER when it opens
            patch.setenv("PULSE_SERVER", f"unix:{va_dir}/pulse/native")
            await mic.start()
        # until the first block came (one 240 ms device block, delivered a while after the start)
        assert len((await capture_while([mic], lambda: mic.counters().captured_frames > 0, extra=0.0))[0]) > 0
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, check=True, capture_output=True)
        await capture_while([mic], lambda: mic.fault is not None, extra=0.0)
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True)
        shutil.rmtree(va_dir, ignore_errors=True)
    assert isinstance(mic.fault, DeviceFailedError)
    assert "stopped" in str(mic.fault)


async def test_a_device_that_cannot_be_opened_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The device is listed, but its sound server is unreachable at open time (as with a device
    # another app holds exclusively, or a refused permission): PortAudio fails inside Pa_OpenStream.
    assert any(d.name == "pulse" for d in list_input_devices())  # enumerated while the server is up
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-server")
    with pytest.raises(DeviceFailedError, match=r"Could not open the microphone device .*Privacy"):
        await LiveSource(Source.MIC).start()


async def test_a_failing_audio_callback_is_logged_once_with_its_traceback_then_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The callback swallows its exceptions (sounddevice would stop calling it) and cannot log; the loop
    side must say so. The bug is injected: a clock that fails on PortAudio's thread only."""
    import threading

    loop_thread = threading.current_thread()

    def clock() -> float:
        if threading.current_thread() is not loop_thread:
            raise RuntimeError("injected callback bug")
        return time.monotonic()

    mic = LiveSource(Source.MIC, clock=clock, no_data_seconds=30.0)
    caplog.set_level("DEBUG", logger="app.capture")
    await mic.start()
    try:
        deadline = time.monotonic() + 10
        while mic.counters().callback_errors < 10 and time.monotonic() < deadline:
            mic.read_frames()
            await asyncio.sleep(0.05)
        mic.read_frames()
    finally:
        await mic.stop()
    assert mic.counters().callback_errors >= 10
    failures = [r for r in caplog.records if "audio callback" in r.getMessage()]
    assert failures and failures[0].exc_info is not None and "injected callback bug" in caplog.text
    assert sum(r.exc_info is not None for r in failures) == 1
    assert len(failures) <= 1 + mic.counters().callback_errors.bit_length()  # not one line per callback


async def test_stop_keeps_the_words_said_in_the_block_still_being_filled(tmp_path: Path) -> None:
    """PortAudio hands out whole blocks (240 ms): Stop clicked mid-block must still capture up to the click,
    not end at the last whole block before it. The click comes well into a block (0.15 s after one was
    read); ``stream.stop()`` delivers the block in progress (measured on PulseAudio through ALSA: the
    capture ends 0.03-0.04 s after the click), which this keeps true. The tone plays through, so the
    captured tail is real audio, not padding."""
    tone = chirp_wav(tmp_path / "long.wav", seconds=6.0)
    mic = LiveSource(Source.MIC)
    await mic.start()
    player = play_wav(tone, MIC_SINK)
    frames: list[Frame] = []
    try:
        frames += (await capture_while([mic], lambda: mic.counters().captured_frames > 50, extra=0.0))[0]
        while not (new := mic.read_frames()):  # right after a block came ...
            await asyncio.sleep(0.005)
        frames += new
        await asyncio.sleep(0.15)  # ... the user clicks Stop well into the next one
        click = time.monotonic()
        await mic.stop()
        frames += mic.read_frames()
    finally:
        player.kill()
        player.wait()
    assert mic.finished and mic.fault is None
    end = frames[-1].capture_time + 0.02
    assert end >= click - 0.05, f"capture ended {click - end:.3f} s before Stop"
    tail = pcm_of([f for f in frames if click - 0.2 <= f.capture_time < click - 0.05])
    assert len(tail) >= 5 * 320 and np.sqrt(np.mean(tail**2)) > 0.05  # the tone, up to the click
