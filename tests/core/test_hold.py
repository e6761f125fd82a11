"""A source's hold: bounded, silence shed before speech, resends in front, VAD lookahead respected;
every frame accounted for whatever the sequence (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.framing import Frame
from app.core.hold import Held, SourceHold
from app.core.messages import Source
from app.core.vad import EnergyVad, SpeechTagger, VadConfig, VoiceDetector

RATE = 16_000
TICK = 0.02


class Scripted:
    """A detector told the answer per frame (the real EnergyVad is tested in test_vad and below)."""

    def __init__(self, speech: set[int]) -> None:
        self.speech, self.seen = speech, 0

    def is_speech(self, pcm: bytes) -> bool:
        self.seen += 1
        return self.seen - 1 in self.speech


def hold(capacity: int, detector: VoiceDetector | None = None) -> SourceHold[Frame]:
    det = detector or Scripted(set())
    return SourceHold("mic", capacity, lambda: SpeechTagger[Held[Frame]](det, VadConfig()))


def frame(i: int, pcm: bytes = bytes(640)) -> Frame:
    return Frame(Source.MIC, pcm, i * TICK, i)


def test_over_its_bound_the_hold_sheds_silence_first_then_the_oldest() -> None:
    h = hold(50, Scripted(set(range(0, 30)) | set(range(60, 200))))  # frames 30-59 silent
    shed: list[Frame] = []
    for i in range(100):
        shed += h.push(frame(i), tag=True)
    assert len(h) == 50
    kept = [f.index for f in h.take(100, due=1e9, skip_silence=False)]
    # the silence went first (beyond lookahead/hangover), then only as much old speech as needed
    assert all(i not in kept for i in range(45, 50))
    assert [f.index for f in shed][:10] != list(range(10))  # not simply the oldest
    assert h.shed == len(shed) == 50


def test_skipping_sends_speech_with_its_lookahead_and_hangover_and_counts_the_silence() -> None:
    h = hold(1000, Scripted(set(range(100, 150))))
    for i in range(300):
        h.push(frame(i), tag=True)
    h.settle()
    sent = [f.index for f in h.take(1000, due=1e9, skip_silence=True)]
    assert sent == list(range(90, 165))  # 200 ms before, 300 ms after
    assert h.skipped == 300 - len(sent)


def test_a_frame_waiting_for_its_lookahead_stops_the_take_while_skipping() -> None:
    h = hold(1000, Scripted(set()))
    for i in range(5):
        h.push(frame(i), tag=True)  # decisions wait for 10 frames of lookahead
    assert h.take(10, due=1e9, skip_silence=True) == []
    assert [f.index for f in h.take(10, due=1e9, skip_silence=False)] == list(range(5))


def test_frames_captured_after_due_wait() -> None:
    h = hold(100)
    for i in range(20):
        h.push(frame(i), tag=False)
    assert len(h.take(100, due=5 * TICK, skip_silence=False)) == 6


def test_the_real_detector_keeps_a_voiced_burst_in_quiet_noise() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(RATE) / RATE
    voiced = 0.2 * sum(np.sin(2 * np.pi * k * 150 * t) / k for k in range(1, 12))
    signal = np.concatenate([np.zeros(2 * RATE), voiced, np.zeros(2 * RATE)])
    signal += rng.normal(0, 10 ** (-55 / 20), signal.size)
    pcm = np.clip(signal * 32767, -32768, 32767).astype("<i2").tobytes()
    h = hold(10_000, EnergyVad())
    for i in range(len(pcm) // 640):
        h.push(frame(i, pcm[i * 640 : (i + 1) * 640]), tag=True)
    h.settle()
    indices = [f.index for f in h.take(10_000, due=1e9, skip_silence=True)]
    assert set(range(100, 150)) <= set(indices)  # the whole burst (frames 100-149)
    assert min(indices) >= 100 - 10 and max(indices) <= 149 + 15
    assert h.skipped * TICK >= 4.0 - 0.5


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["push", "take", "skip", "restore", "settle"]),
                          st.integers(0, 40), st.booleans()), max_size=60))
def test_every_frame_is_held_sent_skipped_or_shed_exactly_once(ops: list[tuple[str, int, bool]]) -> None:
    h = hold(60, Scripted(set(range(0, 10_000, 3))))
    pushed, sent, shed = 0, [], []
    for op, n, tag in ops:
        if op == "push":
            for _ in range(n):
                shed += h.push(frame(pushed), tag=tag)
                pushed += 1
        elif op in ("take", "skip"):
            sent += h.take(n, due=1e9, skip_silence=op == "skip")
        elif op == "restore":  # the last n sent went on a connection that died
            n = min(n, len(sent))
            back, sent = sent[len(sent) - n :], sent[: len(sent) - n]
            shed += h.restore(back)
        else:
            h.settle()
    rest = h.take_all()
    indices = [f.index for f in sent + shed + rest]
    assert len(indices) + h.skipped == pushed
    assert len(set(indices)) == len(indices)  # nothing twice
    assert h.shed == len(shed)
