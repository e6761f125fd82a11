"""The cheap paths of framing and replay give exactly what the plain paths give.

``Framer.feed_blocks`` (one resampler call for many blocks) against successive ``feed`` calls, the
framer's int16 fast path against the full limiter, and the replay's read-ahead against reading the
file at every call: bit for bit, capture times included.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

import app.capture.replay
from app.capture.replay import ReplaySource
from app.core.framing import Frame, Framer, soft_limit, to_int16
from app.core.messages import Source


def as_tuples(frames: list[Frame]) -> list[tuple[bytes, float, int]]:
    return [(f.pcm, f.capture_time, f.index) for f in frames]


@pytest.mark.parametrize(("rate", "channels", "dtype"),
                         [(48000, 2, "f4"), (44100, 1, "i2"), (16000, 2, "i2")])
def test_feed_blocks_gives_exactly_what_successive_feeds_give(rate: int, channels: int, dtype: str) -> None:
    rng = np.random.default_rng(rate + channels)
    signal = rng.normal(0.0, 0.3, (rate * 2, channels))  # some samples above the limiter knee
    audio = (signal * 20000).astype(np.int16) if dtype == "i2" else signal.astype(np.float32)
    blocks, pos = [], 0
    for n in rng.integers(1, 1500, 300):
        jump = 0.3 if pos > rate else 0.0  # the device dropped blocks here: timestamps jump ahead
        blocks.append((audio[pos : pos + n], 50.0 + pos / rate + jump))
        pos += int(n)
    one, many = Framer(Source.MIC, rate, channels), Framer(Source.MIC, rate, channels)
    expected = [f for block in blocks for f in one.feed(*block)] + one.flush()
    batched = [f for i in range(0, len(blocks), 4) for f in many.feed_blocks(blocks[i : i + 4])]
    assert as_tuples(batched + many.flush()) == as_tuples(expected)
    assert many.feed_blocks([]) == []


def test_the_int16_fast_path_equals_the_full_limiter_and_clamping() -> None:
    rng = np.random.default_rng(4)
    quiet = rng.normal(0.0, 0.2, 4000).astype(np.float32)
    loud = rng.normal(0.0, 2.0, 4000).astype(np.float32)  # knee and clamping both needed
    hostile = np.array([np.nan, np.inf, -np.inf, 0.9, -0.9, 0.95, 1.0, -1.0, 0.0], dtype=np.float32)
    for x in (quiet, loud, hostile):
        framer = Framer(Source.SYSTEM, 16000, 1)  # no resampler: the pcm is the limiter's output
        frames = framer.feed(x, 0.0) + framer.flush()
        pcm = np.frombuffer(b"".join(f.pcm for f in frames), "<i2")[: len(x)]
        np.testing.assert_array_equal(pcm, to_int16(soft_limit(x.copy())))


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


class StepClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def replay_all(path: Path, steps: np.ndarray, loop: bool) -> list[tuple[bytes, float, int]]:
    clock = StepClock()
    src = ReplaySource(Source.MIC, path, clock=clock, loop=loop)
    await src.start()
    frames: list[Frame] = []
    for t in steps:
        clock.t = float(t)
        frames += src.read_frames()
        if src.finished:
            break
    await src.stop()
    return as_tuples(frames + src.read_frames())


@pytest.mark.parametrize("loop", [False, True])
async def test_replay_read_ahead_changes_nothing_but_the_number_of_file_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loop: bool
) -> None:
    rate = 48000
    rng = np.random.default_rng(11)
    path = write_wav(tmp_path / "a.wav", rng.integers(-20000, 20000, (int(rate * 2.3), 2)), rate)
    steps = np.cumsum(rng.uniform(0.001, 0.09, 200))
    steps[60:] += 3.0  # a stalled loop: the replay skips, like a live device's hand-off
    monkeypatch.setattr(app.capture.replay, "READ_AHEAD_SECONDS", 1e-4)  # about one read per call
    per_call = await replay_all(path, steps, loop)
    monkeypatch.setattr(app.capture.replay, "READ_AHEAD_SECONDS", 0.5)
    read_ahead = await replay_all(path, steps, loop)
    assert len(per_call) > 100
    assert read_ahead == per_call
