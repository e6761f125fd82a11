"""Replay sources: pacing against an injected clock, end of file, stop, fast mode, and clear errors."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest
from testkit import frame_signal

from app.capture.replay import ReplaySource, check_wav
from app.core.framing import Frame
from app.core.messages import FRAME_SAMPLES, Source
from app.errors import ConfigError


class StepClock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> Path:
    data = samples.reshape(-1, 1) if samples.ndim == 1 else samples
    with wave.open(str(path), "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(
            data.astype("<i2").tobytes() if width == 2 else bytes(len(data) * width * data.shape[1])
        )
    return path


def ramp(n: int) -> np.ndarray:
    return (np.arange(n) % 4000 - 2000).astype(np.int16)


def pcm_of(frames: list[Frame]) -> np.ndarray:
    return np.frombuffer(b"".join(f.pcm for f in frames), dtype="<i2")


async def test_realtime_pacing_follows_absolute_deadlines(tmp_path: Path) -> None:
    clock = StepClock(100.0)
    src = ReplaySource(Source.MIC, write_wav(tmp_path / "a.wav", ramp(48000), 16000), clock=clock)
    await src.start()
    assert src.read_frames() == []
    clock.t = 100.5
    first = src.read_frames()
    assert len(first) == 25
    clock.t = 100.509  # not yet another whole frame due... but the samples are released
    assert src.read_frames() == []
    clock.t = 101.0
    second = src.read_frames()
    assert len(second) == 25  # uneven polling does not accumulate error
    times = [f.capture_time for f in first + second]
    assert times == pytest.approx([100.0 + i * 0.02 for i in range(50)])
    assert [f.index for f in first + second] == list(range(50))
    assert not src.finished


async def test_replay_reaches_the_end_pads_the_tail_and_finishes(tmp_path: Path) -> None:
    clock = StepClock(0.0)
    signal = ramp(16000 + 100)
    src = ReplaySource(Source.SYSTEM, write_wav(tmp_path / "a.wav", signal, 16000), clock=clock)
    await src.start()
    clock.t = 1.5  # past the end of the 1.01 s file
    frames = src.read_frames()
    assert src.finished and src.fault is None
    assert len(frames) == 51 and src.counters().captured_frames == 51
    out = pcm_of(frames)
    np.testing.assert_array_equal(out[: len(signal)], signal)
    assert not out[len(signal) :].any()
    assert src.read_frames() == []


async def test_a_stalled_loop_keeps_only_the_newest_capacity(tmp_path: Path) -> None:
    clock = StepClock(0.0)
    src = ReplaySource(Source.MIC, write_wav(tmp_path / "a.wav", ramp(16000 * 10), 16000), clock=clock)
    await src.start()
    clock.t = 6.0  # the session did not poll for 6 s
    frames = src.read_frames()
    assert len(frames) == 100  # 2 s of backlog kept, like the live hand-off
    counters = src.counters()
    assert counters.handoff_drops == 1 and counters.dropped_seconds == pytest.approx(4.0)
    assert frames[0].capture_time == pytest.approx(4.0)  # true times after the skip
    np.testing.assert_array_equal(pcm_of(frames[:1]), ramp(16000 * 10)[64000 : 64000 + FRAME_SAMPLES])


async def test_stop_returns_the_padded_tail_once(tmp_path: Path) -> None:
    clock = StepClock(0.0)
    src = ReplaySource(Source.MIC, write_wav(tmp_path / "a.wav", ramp(16000), 16000), clock=clock)
    await src.start()
    clock.t = 0.0301  # 1.5 frames due
    assert len(src.read_frames()) == 1
    await src.stop()
    await src.stop()  # idempotent
    tail = src.read_frames()
    assert len(tail) == 1 and src.finished
    assert not np.frombuffer(tail[0].pcm, "<i2")[161:].any()  # 161 samples of audio, then padding
    assert src.read_frames() == []


async def test_stop_hands_out_what_came_due_since_the_last_read(tmp_path: Path) -> None:
    """Like a live device's stop: the audio due up to the stop goes out with the tail, not only up to
    the last read (at a 160 ms tick that is up to 8 frames a replayed session would lose)."""
    clock = StepClock(0.0)
    src = ReplaySource(Source.MIC, write_wav(tmp_path / "a.wav", ramp(16000), 16000), clock=clock)
    await src.start()
    clock.t = 0.04
    assert len(src.read_frames()) == 2
    clock.t = 0.2  # 8 more frames due, never read before the stop
    await src.stop()
    tail = src.read_frames()
    assert len(tail) == 8 and src.finished
    assert [f.index for f in tail] == list(range(2, 10))
    assert src.counters().captured_frames == 10


async def test_fast_mode_is_paced_by_the_consumer_and_matches_offline_framing(tmp_path: Path) -> None:
    rate = 44100
    t = np.arange(rate * 3) / rate
    stereo = np.stack([np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 500 * t)], axis=1) * 12000
    path = write_wav(tmp_path / "s.wav", stereo.astype(np.int16), rate)
    src = ReplaySource(Source.SYSTEM, path, realtime=False, clock=StepClock(0.0), batch_seconds=1.0)
    await src.start()
    batches = []
    while not src.finished:
        batches.append(src.read_frames())
    assert 45 <= len(batches[0]) <= 50  # about one second per call (minus resampler latency)
    frames = [f for batch in batches for f in batch]
    expected = frame_signal(stereo.astype(np.int16), rate, Source.SYSTEM, block_frames=rate)
    np.testing.assert_array_equal(pcm_of(frames), pcm_of(expected))
    assert frames[-1].capture_time == pytest.approx(expected[-1].capture_time)


async def test_loop_mode_wraps_around(tmp_path: Path) -> None:
    clock = StepClock(0.0)
    src = ReplaySource(Source.MIC, write_wav(tmp_path / "a.wav", ramp(3200), 16000), loop=True, clock=clock)
    await src.start()
    frames = []
    for step in range(1, 6):
        clock.t = step * 0.1
        frames += src.read_frames()
    assert len(frames) == 25 and not src.finished  # 0.5 s from a 0.2 s file
    np.testing.assert_array_equal(pcm_of(frames), np.tile(ramp(3200), 3)[:8000])


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        ReplaySource(Source.MIC, tmp_path / "nope.wav")


def test_not_a_wav_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("not audio at all")
    with pytest.raises(ConfigError, match=r"not a PCM WAV file.*16-bit PCM"):
        ReplaySource(Source.MIC, path)


def test_float_wav_is_rejected_with_a_conversion_hint(tmp_path: Path) -> None:
    path = tmp_path / "float.wav"
    data = np.zeros(100, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)  # WAVE_FORMAT_IEEE_FLOAT
    body = (
        b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    )
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(ConfigError, match=r"not a PCM WAV file.*sox"):
        ReplaySource(Source.MIC, path)


def test_8_bit_and_empty_wavs_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="8-bit samples; only 16-bit"):
        ReplaySource(Source.MIC, write_wav(tmp_path / "u8.wav", np.zeros(100), 8000, width=1))
    with pytest.raises(ConfigError, match="contains no audio"):
        ReplaySource(Source.MIC, write_wav(tmp_path / "empty.wav", np.zeros(0), 16000))


async def test_any_rate_and_channel_count_is_resampled(tmp_path: Path) -> None:
    rate = 8000
    t = np.arange(rate * 2) / rate
    tone = (np.sin(2 * np.pi * 440 * t) * 16000).astype(np.int16)
    quad = np.stack([tone] * 4, axis=1)
    src = ReplaySource(Source.MIC, write_wav(tmp_path / "q.wav", quad, rate), realtime=False)
    await src.start()
    frames = []
    while not src.finished:
        frames += src.read_frames()
    out = pcm_of(frames).astype(np.float64)
    assert abs(len(out) - 32000) < FRAME_SAMPLES
    spectrum = np.abs(np.fft.rfft(out[1600:-1600]))
    assert np.fft.rfftfreq(len(out) - 3200, 1 / 16000)[np.argmax(spectrum)] == pytest.approx(440, abs=2)
    assert "q.wav" in src.description and "8000 Hz" in src.description


def test_make_sources_builds_replay_or_live_per_source_without_opening(tmp_path: Path) -> None:
    from app.capture.factory import make_sources
    from app.capture.live import LiveSource

    wav = write_wav(tmp_path / "sys.wav", ramp(1600), 16000)
    made = make_sources([Source.MIC, Source.SYSTEM, Source.MIC], replay={Source.SYSTEM: wav})
    assert [type(s) for s in made] == [LiveSource, ReplaySource]
    assert [s.source for s in made] == [Source.MIC, Source.SYSTEM]
    assert made[0].description == "" and made[0].fault is None and not made[0].finished
    with pytest.raises(ConfigError, match="does not exist"):
        make_sources(replay={Source.MIC: tmp_path / "missing.wav"})


def test_a_directory_given_as_a_wav_says_it_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        check_wav(tmp_path)


@pytest.mark.parametrize("kept_seconds", [0.0, 0.5, 1.2])
def test_a_wav_whose_header_promises_more_than_it_holds_is_an_error(
    tmp_path: Path, kept_seconds: float
) -> None:
    """A cut-off download or recording: the header says 2 s, the file ends earlier."""
    path = tmp_path / "cut.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros((32000, 2), "<i2").tobytes())
    header = path.stat().st_size - 32000 * 4
    with path.open("r+b") as f:
        f.truncate(header + int(kept_seconds * 16000) * 4 + 2)  # + half a frame
    with pytest.raises(ConfigError, match=rf"truncated: its header promises 2.0 s of audio but it holds "
                                          rf"{kept_seconds:.1f} s"):
        check_wav(path)
