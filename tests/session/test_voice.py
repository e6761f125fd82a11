"""The voice detector throttling uses (``app.session.voice``), on REAL speech under noise.

The fixture is a real two-speaker meeting excerpt with human speaker-turn labels (pyannote.audio's
sample, MIT; tests/fixtures/README.md). Under pink noise at 10 dB SNR (the noise level set from the
excerpt's active speech level), after the throttle's gate (200 ms lookahead, 300 ms hangover): the
WebRTC detector misses no speech frame with any of four noise beds, while ``EnergyVad`` misses whole
words (its periodicity test fails on quiet real speech in steady noise). Frames the gate calls
silence are never sent while throttling skips silence, so a miss is lost transcript.
"""

from __future__ import annotations

import logging
import lzma
import wave
from io import BytesIO
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from app.bench.overload import gated
from app.core.messages import FRAME_SAMPLES
from app.core.vad import EnergyVad
from app.session import voice
from app.session.voice import WebRtcVad, make_detector

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RATE = 16_000


def real_clip() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The excerpt as floats in [-1, 1), and its truth per 20 ms frame: the union of the speaker turns,
    gaps under 150 ms merged, a frame is speech if it overlaps a turn."""
    raw = lzma.decompress((FIXTURES / "pyannote-sample.wav.xz").read_bytes())
    with wave.open(BytesIO(raw)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    rttm = (FIXTURES / "pyannote-sample.rttm").read_text().splitlines()
    turns = sorted((float(p[3]), float(p[3]) + float(p[4])) for p in (line.split() for line in rttm))
    merged: list[list[float]] = []
    for a, b in turns:
        if merged and a - merged[-1][1] < 0.15:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    truth = np.zeros(x.size // FRAME_SAMPLES, dtype=bool)
    for a, b in merged:
        truth[int(np.floor(a / 0.02)) : int(np.ceil(b / 0.02))] = True
    return x, truth


def pink(seed: int, n: int) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.normal(size=n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    return np.fft.irfft(spectrum / np.sqrt(f), n)


def rms_db(x: npt.NDArray[np.float64]) -> float:
    return float(10 * np.log10(np.mean(x * x) + 1e-20))


def under_pink(snr_db: float, seed: int) -> tuple[bytes, npt.NDArray[np.bool_]]:
    x, truth = real_clip()
    active = rms_db(x[: truth.size * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)[truth].ravel())
    bed = pink(seed, x.size)
    bed *= 10 ** ((active - snr_db - rms_db(bed)) / 20)
    pcm = np.clip(np.rint((x + bed) * 32767), -32768, 32767).astype("<i2")
    return pcm[: truth.size * FRAME_SAMPLES].tobytes(), truth


@pytest.mark.parametrize("bed", range(4))
def test_webrtc_misses_no_real_speech_in_pink_noise_at_10_db_where_the_energy_detector_loses_words(
    bed: int,
) -> None:
    pcm, truth = under_pink(10.0, seed=5001 + 10 * bed)
    webrtc = gated(WebRtcVad(), pcm)
    energy = gated(EnergyVad(), pcm)
    assert int((truth & ~webrtc).sum()) == 0
    # the study's figures for these four beds: 34, 6, 5 and 16 speech frames missed (1.35 %)
    assert int((truth & ~energy).sum()) >= 3
    # and WebRTC still skips some of the noise between turns (it is not "always speech")
    assert int((~truth & ~webrtc).sum()) > 0


def test_on_the_clean_recording_both_keep_every_speech_frame_and_skip_the_room_tone() -> None:
    x, truth = real_clip()
    pcm = np.clip(np.rint(x * 32767), -32768, 32767).astype("<i2")[: truth.size * FRAME_SAMPLES].tobytes()
    for detector in (WebRtcVad(), EnergyVad()):
        keep = gated(detector, pcm)
        assert int((truth & ~keep).sum()) == 0
        assert (~truth & ~keep).sum() > 0.5 * (~truth).sum()


def test_a_short_tail_frame_is_padded_not_refused() -> None:
    assert WebRtcVad().is_speech(bytes(100)) is False


def test_the_default_factory_gives_the_webrtc_detector_one_per_call() -> None:
    make = make_detector()
    a, b = make(), make()
    assert isinstance(a, WebRtcVad) and isinstance(b, WebRtcVad) and a is not b
    assert isinstance(make_detector(kind="energy")(), EnergyVad)


def test_without_pocketsphinx_it_falls_back_to_the_energy_detector_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(mode: int = 0) -> WebRtcVad:
        raise ImportError("No module named 'pocketsphinx'")

    monkeypatch.setattr(voice, "WebRtcVad", broken)
    make = make_detector()
    with caplog.at_level(logging.WARNING, logger="app.session.voice"):
        detectors = [make(), make()]
    assert all(isinstance(d, EnergyVad) for d in detectors)
    notes = [r.getMessage() for r in caplog.records if r.name == "app.session.voice"]
    assert len(notes) == 1 and "energy detector" in notes[0] and "No module named" in notes[0]


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown voice detector"):
        make_detector(kind="silero")
