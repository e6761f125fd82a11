"""``python -m app.bench vad``'s pure parts: the truth per frame, the throttle's gate over a detector's
decisions, and the figures against the truth."""

from __future__ import annotations

import numpy as np
import pytest

from app.bench import vad
from app.core.messages import FRAME_BYTES


def test_a_frame_is_speech_when_it_overlaps_a_true_interval() -> None:
    got = vad.truth_frames([(0.03, 0.05), (0.2, 0.2 + 1e-3)], 12)
    assert np.flatnonzero(got).tolist() == [1, 2, 10]
    assert vad.truth_frames([(0.0, 9.0)], 3).all()  # clipped to the recording


def test_scores_count_missed_speech_and_kept_non_speech_after_the_gate() -> None:
    truth = np.array([0, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    raw = np.array([0, 1, 0, 1, 0, 0, 1, 0], dtype=bool)
    gated = np.array([0, 0, 1, 1, 1, 0, 0, 0], dtype=bool)
    got = vad.score(truth, raw, gated)
    assert got["raw_accuracy"] == 0.75 and got["gated_accuracy"] == 0.75
    assert got["speech_missed_percent"] == pytest.approx(33.33) and got["speech_missed_seconds"] == 0.02
    assert got["nonspeech_kept_percent"] == 20.0


class Loud:
    """A stand-in detector: speech when the frame's first sample is not zero."""

    def is_speech(self, pcm: bytes) -> bool:
        return pcm[:2] != b"\0\0"


def test_decisions_go_through_the_throttles_gate_which_keeps_a_margin_around_speech() -> None:
    frames = [b"\1\1" + bytes(FRAME_BYTES - 2) if 30 <= k < 35 else bytes(FRAME_BYTES) for k in range(80)]
    got = vad.decide(Loud(), b"".join(frames))
    assert np.flatnonzero(got.raw).tolist() == list(range(30, 35)) and len(got.micros) == 80
    kept = np.flatnonzero(got.gated)
    assert kept[0] == 20 and kept[-1] == 49  # 200 ms lookahead before, 300 ms hangover after
