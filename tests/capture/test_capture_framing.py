"""Pure framing: sizes, remainders, resampling, limiter, clamping, capture times, flush."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testkit import frame_signal

from app.core.framing import MIN_FRAME_SPACING, BlockClock, Frame, Framer, soft_limit, to_int16
from app.core.messages import FRAME_BYTES, FRAME_SAMPLES, Source


def pcm_of(frames: list[Frame]) -> np.ndarray:
    return np.frombuffer(b"".join(f.pcm for f in frames), dtype="<i2")


def sine(freq: float, seconds: float, rate: int, amplitude: float) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_frequency(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


def test_frames_are_640_bytes_and_remainders_carry_across_odd_blocks() -> None:
    sizes = [1, 7, 319, 321, 640, 1000, 3, 2500] * 4
    rng = np.random.default_rng(1)
    signal = rng.integers(-20000, 20000, size=sum(sizes), dtype=np.int16)  # below the limiter knee
    framer = Framer(Source.MIC, 16000, 1)
    frames: list[Frame] = []
    pos = 0
    for size in sizes:
        frames.extend(framer.feed(signal[pos : pos + size], pos / 16000))
        pos += size
        assert len(frames) == pos // FRAME_SAMPLES  # every complete frame is out, nothing more
    assert all(len(f.pcm) == FRAME_BYTES for f in frames)
    assert [f.index for f in frames] == list(range(len(frames)))
    assert all(f.source is Source.MIC for f in frames)
    np.testing.assert_array_equal(pcm_of(frames), signal[: len(frames) * FRAME_SAMPLES])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1500), min_size=1, max_size=30))
def test_any_block_sizes_give_the_same_stream(sizes: list[int]) -> None:
    total = sum(sizes)
    signal = (np.arange(total) % 2000 - 1000).astype(np.int16)
    framer = Framer(Source.SYSTEM, 16000, 1)
    frames: list[Frame] = []
    pos = 0
    for size in sizes:
        frames.extend(framer.feed(signal[pos : pos + size], 0.0))
        pos += size
    frames.extend(framer.flush())
    assert len(frames) == -(-total // FRAME_SAMPLES)
    out = pcm_of(frames)
    np.testing.assert_array_equal(out[:total], signal)
    assert not out[total:].any()  # the padding is silence


def test_flush_zero_pads_the_last_partial_frame_and_resets() -> None:
    framer = Framer(Source.SYSTEM, 16000, 1)
    block = np.full(1000, 1000, dtype=np.int16)
    assert len(framer.feed(block, 5.0)) == 3
    tail = framer.flush()
    assert len(tail) == 1 and tail[0].index == 3
    last = np.frombuffer(tail[0].pcm, "<i2")
    assert (last[:40] == 1000).all() and not last[40:].any()
    assert tail[0].capture_time == pytest.approx(5.0 + 960 / 16000)
    assert framer.flush() == []  # nothing left
    again = framer.feed(block, 9.0)  # a fresh stream; indices keep counting
    assert again[0].index == 4 and again[0].capture_time == pytest.approx(9.0)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_resampling_stereo_to_16k_mono_keeps_frequency_and_level(rate: int) -> None:
    tone = sine(1000.0, 2.0, rate, 0.5)
    frames = frame_signal(np.stack([tone, tone], axis=1), rate, Source.SYSTEM)
    out = pcm_of(frames).astype(np.float64) / 32768
    assert abs(len(out) - 32000) < FRAME_SAMPLES  # 2 s at 16 kHz, plus at most the padding
    steady = out[1600:-1600]
    assert dominant_frequency(steady, 16000) == pytest.approx(1000.0, abs=2.0)
    assert np.sqrt(np.mean(steady**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_resampling_removes_content_above_8khz() -> None:
    tone = sine(12000.0, 1.0, 48000, 0.5)  # inaudible at 16 kHz; must not alias into the band
    out = pcm_of(frame_signal(tone, 48000)).astype(np.float64) / 32768
    assert np.sqrt(np.mean(out[800:-800] ** 2)) < 0.001


def test_downmix_is_the_mean_of_the_channels() -> None:
    left = np.full(640, 8000, dtype=np.int16)
    right = np.full(640, 2000, dtype=np.int16)
    frames = Framer(Source.SYSTEM, 16000, 2).feed(np.stack([left, right], axis=1), 0.0)
    assert (pcm_of(frames) == 5000).all()
    antiphase = sine(440.0, 0.2, 16000, 0.5)
    frames = Framer(Source.SYSTEM, 16000, 2).feed(np.stack([antiphase, -antiphase], axis=1), 0.0)
    assert np.abs(pcm_of(frames)).max() <= 1


def test_soft_limiter_is_linear_below_the_threshold_and_stays_below_full_scale() -> None:
    x = np.linspace(-0.9, 0.9, 1001, dtype=np.float32)
    np.testing.assert_array_equal(soft_limit(x.copy()), x)
    loud = np.array([0.91, 0.95, 1.0, 1.5, 3.0, 100.0], dtype=np.float32)
    y = soft_limit(loud.copy())
    assert (y > 0.9).all() and (y < 1.0 + 1e-6).all() and (y <= loud).all()
    assert (np.diff(y) >= 0).all()  # monotonic: louder in, never quieter out
    assert y[0] == pytest.approx(0.91, abs=1e-3)  # continuous at the knee (slope 1)
    np.testing.assert_array_equal(soft_limit(-loud.copy()), -y)  # symmetric


def test_float_to_int16_clamps_and_never_wraps() -> None:
    x = np.array([2.0, -2.0, np.nan, np.inf, -np.inf, 0.5, -1.0], dtype=np.float32)
    np.testing.assert_array_equal(to_int16(x), [32767, -32768, 0, 32767, -32768, 16384, -32768])
    hot = np.full((1600, 2), 5.0, dtype=np.float32)  # a wildly over-driven device
    out = pcm_of(Framer(Source.MIC, 16000, 2).feed(hot, 0.0))
    assert out.min() > 29000  # compressed towards full scale, never wrapped negative


def test_capture_times_are_monotonic_and_do_not_drift() -> None:
    rate, t0 = 48000, 123456.0
    framer = Framer(Source.SYSTEM, rate, 2)
    rng = np.random.default_rng(7)
    frames: list[Frame] = []
    pos = 0
    block = np.zeros((2000, 2), dtype=np.float32)
    while pos < rate * 120:  # two minutes in odd block sizes
        n = int(rng.integers(1, 2000))
        frames.extend(framer.feed(block[:n], t0 + pos / rate))
        pos += n
    times = np.array([f.capture_time for f in frames])
    assert (np.diff(times) > 0).all()
    expected = t0 + np.arange(len(frames)) * 0.02
    assert np.abs(times - expected).max() < 1e-6  # sample-exact after 6000 frames


def test_capture_times_follow_block_timestamps_across_a_gap() -> None:
    framer = Framer(Source.MIC, 16000, 1)
    block = np.zeros(3200, dtype=np.int16)  # 0.2 s
    first = framer.feed(block, 10.0)
    after_gap = framer.feed(block, 11.2)  # the capture dropped 1 s between the blocks
    assert [f.capture_time for f in first] == pytest.approx([10.0 + i * 0.02 for i in range(10)])
    assert [f.capture_time for f in after_gap] == pytest.approx([11.2 + i * 0.02 for i in range(10)])


def test_a_clock_corrected_backwards_is_slewed_not_stamped_on_top_of_earlier_frames() -> None:
    """A live device's block clock may correct itself 40 ms back mid-stream (its first callbacks all
    came late): frames keep at least MIN_FRAME_SPACING apart and reach the corrected timeline at
    1 ms a frame."""
    framer = Framer(Source.MIC, 16000, 1)
    block = np.zeros(640, dtype=np.int16)  # 40 ms
    frames: list[Frame] = []
    for k in range(50):
        late = 0.04 if k < 25 else 0.0  # the clock was 40 ms late for the first second
        frames.extend(framer.feed(block, 100.0 + k * 0.04 + late))
    times = np.array([f.capture_time for f in frames])
    assert np.diff(times).min() >= MIN_FRAME_SPACING - 1e-9
    assert times[49] == pytest.approx(100.0 + 49 * 0.02 + 0.04)  # last frame before the correction
    corrected = 100.0 + np.arange(len(frames)) * 0.02
    assert times[50] - corrected[50] == pytest.approx(0.04 - 0.001)  # slewing starts at once
    assert np.abs(times[50 + 41 :] - corrected[50 + 41 :]).max() < 1e-9  # and is done 40 frames later


def test_frame_is_frozen() -> None:
    frame = Frame(Source.MIC, bytes(FRAME_BYTES), 1.0, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        frame.index = 1  # type: ignore[misc]


def test_framer_rejects_blocks_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"channels|shaped"):
        Framer(Source.MIC, 48000, 2).feed(np.zeros((10, 3), np.float32), 0.0)


# ------------------------------------------------------------------ BlockClock


def test_block_clock_ignores_callback_jitter() -> None:
    rate, block = 48000, 960
    clock = BlockClock(rate)
    rng = np.random.default_rng(3)
    start = 50.0
    for k in range(500):
        pos = k * block
        late = float(rng.uniform(0.0, 0.008))  # callbacks come late by up to 8 ms, never early
        t = clock.block_time(pos, block, start + (pos + block) / rate + late)
        if k > 100:  # once an on-time-ish callback has been seen, timestamps are the sample clock
            assert t == pytest.approx(start + pos / rate, abs=0.0005)


def test_block_clock_reanchors_after_a_stall_but_not_after_one_late_burst() -> None:
    rate, block = 16000, 320
    clock = BlockClock(rate, jump_seconds=0.25, settle_seconds=0.5)
    for k in range(50):
        clock.block_time(k * block, block, 1.0 + (k + 1) * 0.02)
    # One callback 0.4 s late (e.g. a GIL stall), then back on time: timestamps do not move.
    assert clock.block_time(50 * block, block, 1.0 + 51 * 0.02 + 0.4) == pytest.approx(2.0)
    assert clock.block_time(51 * block, block, 1.0 + 52 * 0.02) == pytest.approx(2.02)
    # The device stops for 1 s (its sample count stands still), then runs on: re-anchored forward.
    times = [clock.block_time((52 + k) * block, block, 1.0 + (53 + k) * 0.02 + 1.0) for k in range(40)]
    assert times[0] == pytest.approx(2.04)  # not yet: could have been a burst
    assert times[-1] == pytest.approx(1.0 + (52 + 39) * 0.02 + 1.0)  # settled: true time again
    assert all(b >= a for a, b in itertools.pairwise(times))
