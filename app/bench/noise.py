"""Background noises for the benchmarks' noisy rooms: pink noise and a synthetic music bed.

Deterministic for a ``numpy.random.Generator``; float64 at 16 kHz, unscaled (callers set the level
with ``scale_to_dbfs``). Adapted from the voice-detector study's corpus generator (/work/vadstudy).
Pink noise is steady and unvoiced (an office fan, an air conditioner); the music bed has chords, bass,
a melody in the speech pitch range (200-800 Hz, with vibrato) and drums, which voice detectors
mistake for speech.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RATE = 16_000
Signal = npt.NDArray[np.float64]


def rms_dbfs(x: Signal) -> float:
    return float(10 * np.log10(np.mean(x * x) + 1e-20))


def scale_to_dbfs(x: Signal, dbfs: float) -> Signal:
    """``x`` scaled so that its RMS is ``dbfs`` (dB relative to full scale 1.0)."""
    return x * 10 ** ((dbfs - rms_dbfs(x)) / 20)


def pink(rng: np.random.Generator, n: int) -> Signal:
    """``n`` samples of 1/f noise (white noise shaped in the frequency domain)."""
    spectrum = np.fft.rfft(rng.normal(size=n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    out: Signal = np.fft.irfft(spectrum / np.sqrt(f), n)
    return out


def _midi(note: float) -> float:
    return float(440.0 * 2 ** ((note - 69) / 12))


def _note(freq: float, n: int, harmonics: int, decay: float, bright: float, vibrato: float = 0.0) -> Signal:
    t = np.arange(n) / RATE
    inst = freq * (1 + vibrato * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(inst) / RATE
    y = np.zeros(n)
    for k in range(1, harmonics + 1):
        if k * freq < 7000:
            y += (bright ** (k - 1)) / k * np.sin(k * phase)
    envelope: Signal = np.minimum(1.0, t / 0.01) * np.exp(-t / decay)
    return y * envelope


def music(rng: np.random.Generator, seconds: float) -> Signal:
    """A pop-like bed: a I-V-vi-IV pad, chord stabs, bass on every beat, an 8th-note melody, kick,
    snare and hats; tempo 88-132 bpm and key drawn from ``rng``."""
    total = round(seconds * RATE)
    out = np.zeros(total + RATE * 3)
    beat = 60.0 / rng.uniform(88, 132)
    key = 48 + int(rng.integers(0, 12))
    major = (0, 2, 4, 5, 7, 9, 11)
    progression = ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12))
    bright = rng.uniform(0.5, 0.85)
    t, bar = 0.0, 0
    while t < seconds:
        chord = progression[bar % 4]
        bar_n = round(4 * beat * RATE)
        s = round(t * RATE)
        for iv in chord:  # sustained pad, whole bar
            out[s : s + bar_n] += 0.10 * _note(_midi(key + iv), bar_n, 6, 4 * beat, bright * 0.8)
        for b in range(4):
            bs, n = round((t + b * beat) * RATE), round(beat * RATE)
            out[bs : bs + n] += 0.35 * _note(_midi(key - 12 + chord[0]), n, 8, 0.25, bright)  # bass
            if b in (1, 3):
                for iv in chord:  # stabs
                    out[bs : bs + n] += 0.12 * _note(_midi(key + 12 + iv), n, 10, 0.18, bright)
                sn = round(0.15 * RATE)
                out[bs : bs + sn] += 0.25 * rng.normal(size=sn) * np.exp(-np.arange(sn) / (0.04 * RATE))
            else:
                kn = round(0.2 * RATE)
                tt = np.arange(kn) / RATE
                sweep = np.cumsum(50 + 70 * np.exp(-tt / 0.03)) / RATE
                out[bs : bs + kn] += 0.6 * np.sin(2 * np.pi * sweep) * np.exp(-tt / 0.08)
            for h in range(2):  # hats on 8ths, and the melody
                hs, hn = round((t + b * beat + h * beat / 2) * RATE), round(0.03 * RATE)
                hat = np.diff(rng.normal(size=hn + 1)) * np.exp(-np.arange(hn) / (0.008 * RATE))
                out[hs : hs + hn] += 0.08 * hat
                if rng.random() < 0.8:
                    degree = int(rng.integers(0, 7)) + 7 * int(rng.integers(1, 3))
                    note = key + 12 * (degree // 7) + major[degree % 7]
                    mn = round(beat / 2 * RATE)
                    out[hs : hs + mn] += 0.22 * _note(_midi(note), mn, 8, 0.5, bright, vibrato=0.01)
        t += 4 * beat
        bar += 1
    result: Signal = out[:total]
    return result
