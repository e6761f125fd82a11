"""Energy segmentation and the segmenting stream (simulated engine): one final per speech region."""

from __future__ import annotations

import numpy as np

from app.backend.recognizers import SegmentingStream, SimulatedEngine
from app.backend.segmenter import BoundaryKind, EnergySegmenter

RATE = 16_000


def loud(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (6000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def boundaries(seg: EnergySegmenter, audio: np.ndarray, chunk: int = 320) -> list[tuple[str, float]]:
    out = []
    for i in range(0, audio.size, chunk):
        out += seg.push(audio[i : i + chunk])
    out += seg.flush()
    return [(b.kind.value, b.sample / RATE) for b in out]


def test_regions_separated_by_300_ms_of_quiet_are_split() -> None:
    audio = np.concatenate([quiet(0.2), loud(1.0), quiet(0.3), loud(0.5), quiet(0.5)])
    assert boundaries(EnergySegmenter(), audio) == [
        ("start", 0.2), ("end", 1.2), ("start", 1.5), ("end", 2.0)
    ]


def test_a_shorter_pause_does_not_split() -> None:
    audio = np.concatenate([loud(1.0), quiet(0.24), loud(1.0), quiet(0.4)])
    assert boundaries(EnergySegmenter(), audio) == [("start", 0.0), ("end", 2.24)]


def test_long_regions_are_cut_at_ten_seconds() -> None:
    audio = loud(23.0)
    assert boundaries(EnergySegmenter(), audio, chunk=1000) == [
        ("start", 0.0), ("end", 10.0), ("start", 10.0), ("end", 20.0), ("start", 20.0), ("end", 23.0)
    ]


def test_chunks_need_not_align_with_frames_and_flush_closes_the_open_region() -> None:
    audio = np.concatenate([quiet(0.1), loud(0.71)])
    result = boundaries(EnergySegmenter(), audio, chunk=777)
    assert result[0] == ("start", 0.1)
    assert result[-1][0] == "end" and abs(result[-1][1] - 0.81) < 0.021


def test_quiet_noise_is_not_speech() -> None:
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(RATE * 2) * 60).astype(np.int16)  # about -55 dBFS
    seg = EnergySegmenter()
    assert seg.push(noise) == [] and seg.flush() == []
    assert not seg.in_region
    assert all(b.kind is not BoundaryKind.START for b in seg.flush())


async def test_stream_emits_one_final_per_region_with_processed_time() -> None:
    stream = SegmentingStream(SimulatedEngine())
    audio = np.concatenate([quiet(0.5), loud(1.2), quiet(0.6), loud(0.4), quiet(0.02)]).tobytes()
    finals = []
    for i in range(0, len(audio), 3200):
        finals += await stream.process(audio[i : i + 3200])
    finals += await stream.finish()
    assert [(f.text, f.t0, f.t1) for f in finals] == [
        ("[simulated speech 1.20 s]", 0.5, 1.7),
        ("[simulated speech 0.40 s]", 2.3, 2.7),
    ]


async def test_stream_ignores_clicks() -> None:
    stream = SegmentingStream(SimulatedEngine())
    audio = np.concatenate([quiet(0.5), loud(0.04), quiet(1.0)]).tobytes()
    assert await stream.process(audio) == [] and await stream.finish() == []
