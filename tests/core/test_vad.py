"""Voice-activity detection: speech-like bursts vs noise, lookahead and hangover, a real espeak-ng phrase."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soxr

from app.core.vad import EnergyVad, SpeechGate, SpeechTagger, VadConfig

RATE = 16_000
FRAME = 320
Signal = npt.NDArray[np.float64]


def frames_of(signal: Signal) -> list[bytes]:
    pcm = np.clip(np.round(signal * 32767), -32768, 32767).astype("<i2")
    return [pcm[i : i + FRAME].tobytes() for i in range(0, pcm.size - FRAME + 1, FRAME)]


def vowel(seconds: float, f0: float, rng: np.random.Generator) -> Signal:
    """A voiced, speech-like burst: harmonics of a wobbling f0 under two formant peaks, with a
    syllable-rate envelope (rise and fall), roughly what a vowel looks like to a detector."""
    t = np.arange(round(seconds * RATE)) / RATE
    pitch = f0 * (1 + 0.05 * np.sin(2 * np.pi * 5 * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    out = np.zeros_like(t)
    for k in range(1, 30):
        freq = k * f0
        gain = np.exp(-(((freq - 700) / 300) ** 2)) + 0.5 * np.exp(-(((freq - 1200) / 400) ** 2)) + 0.02
        out += gain * np.sin(k * phase)
    envelope = np.sin(np.pi * t / seconds) ** 0.5
    burst: Signal = 0.3 * out / np.max(np.abs(out)) * envelope
    return burst


def colored_noise(seconds: float, exponent: float, dbfs: float, rng: np.random.Generator) -> Signal:
    n = round(seconds * RATE)
    spectrum = np.fft.rfft(rng.normal(size=n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    freqs[0] = freqs[1]
    y = np.fft.irfft(spectrum / freqs ** (exponent / 2), n)
    noise: Signal = y / np.sqrt(np.mean(y * y)) * 10 ** (dbfs / 20)
    return noise


def gate_decisions(raw: list[bool], lookahead: int = 10, hangover: int = 15) -> list[bool]:
    gate = SpeechGate(lookahead, hangover)
    out = [d for d in (gate.push(r) for r in raw) if d is not None]
    return out + gate.flush()


# --------------------------------------------------------------------------- SpeechGate


def test_gate_keeps_lookahead_before_and_hangover_after_speech() -> None:
    raw = [False] * 40 + [True] * 5 + [False] * 40
    keep = gate_decisions(raw)
    assert len(keep) == len(raw)
    kept = [i for i, k in enumerate(keep) if k]
    assert kept == list(range(40 - 10, 45 + 15))


def test_gate_decisions_are_lookahead_frames_late() -> None:
    gate = SpeechGate(lookahead_frames=3, hangover_frames=0)
    assert [gate.push(s) for s in (False, False, False)] == [None, None, None]
    assert gate.pending == 3
    assert gate.push(True) is True  # frame 0 sees speech at frame 3 = 0 + lookahead
    assert gate.push(False) is True
    assert gate.flush() == [True, True, False]  # frames 2, 3 (speech), 4 (nothing after it)


def test_gate_bridges_short_gaps_inside_words() -> None:
    raw = ([True] * 8 + [False] * 6) * 5
    assert all(gate_decisions(raw)[: len(raw) - 6])


def test_gate_from_config() -> None:
    gate = SpeechGate.from_config(VadConfig(lookahead_seconds=0.2, hangover_seconds=0.3))
    assert (gate.lookahead_frames, gate.hangover_frames) == (10, 15)
    with pytest.raises(ValueError):
        SpeechGate(-1, 0)


def test_tagger_returns_items_with_their_decisions_in_order() -> None:
    tagger: SpeechTagger[int] = SpeechTagger(
        EnergyVad(), VadConfig(lookahead_seconds=0.04, hangover_seconds=0)
    )
    raw = [False, False, False, True, False, False]
    out = [tagger.push(i, b"", speech) for i, speech in enumerate(raw)]
    assert out == [None, None, (0, False), (1, True), (2, True), (3, True)]
    assert tagger.pending == 2  # items 4 and 5 wait for their lookahead
    assert tagger.flush() == [(4, False), (5, False)]
    assert tagger.pending == 0
    assert tagger.push(6, bytes(640)) is None  # a fresh gate after the flush; the detector ran
    assert tagger.pending == 1


# --------------------------------------------------------------------------- EnergyVad


def test_speech_like_bursts_detected_and_background_noise_not() -> None:
    rng = np.random.default_rng(7)
    parts, truth = [], []
    for i in range(6):
        seconds = 0.3 + 0.04 * i  # whole frames, so the truth lines up with the frames
        gap = colored_noise(0.6, 1.0, -55, rng)
        burst = vowel(seconds, 110 + 25 * i, rng) + colored_noise(seconds, 1.0, -55, rng)
        parts += [gap, burst]
        truth += [False] * (gap.size // FRAME) + [True] * (burst.size // FRAME)
    vad = EnergyVad()
    raw = [vad.is_speech(f) for f in frames_of(np.concatenate(parts))]
    hits = sum(r and t for r, t in zip(raw, truth, strict=True))
    false = sum(r and not t for r, t in zip(raw, truth, strict=True))
    assert hits >= 0.8 * sum(truth)  # the quiet rise and fall of each burst may miss
    assert false == 0
    kept = gate_decisions(raw)
    assert all(k for k, t in zip(kept, truth, strict=True) if t)  # with the gate: every burst frame


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0], ids=["white", "pink", "brown"])
def test_loud_noise_bursts_are_not_speech(exponent: float) -> None:
    """Noise 30 dB above the floor beats the level test; the periodicity test must reject it."""
    rng = np.random.default_rng(3)
    quiet, loud = colored_noise(4.0, exponent, -55, rng), colored_noise(4.0, exponent, -25, rng)
    envelope = (np.arange(quiet.size) % 8000 < 4000) & (np.arange(quiet.size) > 16000)
    vad = EnergyVad()
    raw = [vad.is_speech(f) for f in frames_of(quiet + loud * envelope)]
    assert sum(raw) == 0


def test_noise_floor_adapts_to_a_louder_room() -> None:
    rng = np.random.default_rng(5)
    vad = EnergyVad()
    for f in frames_of(colored_noise(4.0, 1.0, -30, rng)):
        vad.is_speech(f)
    # minimum statistics sit a few dB under the mean of a fluctuating noise
    assert vad.last is not None and -37 < vad.last.floor_dbfs < -29
    # A vowel as loud as the room is not 9 dB above it ... but one 20 dB louder is speech.
    quiet_word = vowel(0.4, 140, rng) * 10 ** (-1 / 20) * 0.1 + colored_noise(0.4, 1.0, -30, rng)
    loud_word = vowel(0.4, 140, rng) + colored_noise(0.4, 1.0, -30, rng)
    assert sum(vad.is_speech(f) for f in frames_of(quiet_word)) == 0
    assert sum(vad.is_speech(f) for f in frames_of(loud_word)) >= 10


def test_digital_silence_and_odd_frames_do_not_crash() -> None:
    vad = EnergyVad()
    assert vad.is_speech(bytes(640)) is False
    assert vad.is_speech(b"\x01\x02" * 100) is False  # a short tail frame is padded
    feats = EnergyVad().features(bytes(640))
    assert feats.periodicity == 0.0 and feats.level_dbfs < -100


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        VadConfig(floor_window_seconds=0)
    with pytest.raises(ValueError):
        VadConfig(pitch_hz=(400.0, 80.0))


# --------------------------------------------------------------------------- a real phrase


def espeak_phrase(tmp_path: Path, text: str) -> Signal:
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is required for this test (apt-get install espeak-ng)"
    path = tmp_path / "phrase.wav"
    subprocess.run([exe, "-w", str(path), text], check=True, capture_output=True, timeout=30)
    with wave.open(str(path)) as w:
        rate, data = w.getframerate(), w.readframes(w.getnframes())
    samples = np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0
    return np.asarray(soxr.resample(samples, rate, RATE), dtype=np.float64)


def test_espeak_phrase_keeps_every_word_and_skips_the_pauses(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    phrase = espeak_phrase(tmp_path, "The quarterly budget review starts on Friday, and Alex will send it.")
    pause = np.zeros(RATE * 2)
    clean = np.concatenate((pause, phrase, pause, phrase, pause))
    noisy = clean + colored_noise(clean.size / RATE, 1.0, -50, rng)
    vad = EnergyVad()
    kept = gate_decisions([vad.is_speech(f) for f in frames_of(noisy)])

    levels = [10 * np.log10(np.mean(c * c) + 1e-12) for c in np.split(clean[: len(kept) * FRAME], len(kept))]
    voiced = [lvl > -45 for lvl in levels]  # ground truth from the clean signal
    first, last = voiced.index(True), len(voiced) - 1 - voiced[::-1].index(True)
    assert all(k for k, v in zip(kept, voiced, strict=True) if v), "a word frame was skipped"
    # Detection starts a little after the true onset (weak consonants); lookahead and hangover still
    # leave a margin of silence around the words.
    assert all(kept[first - 5 : first]), "less than 100 ms kept before the first word"
    assert all(kept[last + 1 : last + 11]), "less than 200 ms kept after the last word"
    # Pauses well away from speech (more than lookahead/hangover) are skipped.
    near: set[int] = set()
    for i, v in enumerate(voiced):
        if v:
            near.update(range(i - 10, i + 16))
    far = [k for i, k in enumerate(kept) if i not in near]
    assert len(far) > 150
    assert sum(far) <= 0.05 * len(far)


@pytest.mark.parametrize("batch", [1, 4, 7])
def test_deciding_a_tick_of_frames_at_once_decides_as_frame_by_frame(batch: int) -> None:
    """``is_speech_many`` (one FFT for a tick's frames) is only faster: same decisions, same floor."""
    rng = np.random.default_rng(7)
    signal = np.concatenate([colored_noise(1.0, 0.0, -50, rng), vowel(0.6, 140.0, rng),
                             colored_noise(0.5, 1.0, -30, rng), vowel(0.4, 220.0, rng),
                             np.zeros(3200), colored_noise(0.7, 2.0, -40, rng)])
    frames = frames_of(signal)
    one, many = EnergyVad(), EnergyVad()
    expected = [one.is_speech(f) for f in frames]
    got: list[bool] = []
    for k in range(0, len(frames), batch):
        got += many.is_speech_many(frames[k : k + batch])
    assert got == expected
    assert any(expected) and not all(expected)
    assert many.last is not None and one.last is not None
    assert many.last.floor_dbfs == one.last.floor_dbfs
    assert many.last.level_dbfs == pytest.approx(one.last.level_dbfs)


def test_a_batch_with_an_odd_sized_frame_falls_back_to_frame_by_frame() -> None:
    frames = [b"\x00\x01" * 320, b"\x00\x01" * 100]
    assert EnergyVad().is_speech_many(frames) == [EnergyVad().is_speech(frames[0]), False]
