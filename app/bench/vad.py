"""``python -m app.bench vad``: the voice detectors throttling can use, on speech whose truth is known.

Throttling skips what its voice detector calls silence, and skipped audio is never sent: a missed
speech frame is lost transcript. This measures, per 20 ms frame, ``app.core.vad.EnergyVad`` (ours)
against the WebRTC VAD (``pocketsphinx.Vad``, the maintained detector the app uses; modes 0 and 3)
on recordings made here with known speech:

* the foreground: espeak-ng turns (several voices and speaking rates, levels 0.15-0.5 peak, pauses
  0.3-3 s) from the benchmark meeting's phrases; the truth comes from the clean foreground itself
  (10 ms RMS >= -50 dBFS, gaps < 150 ms merged: ``overload_analysis.speech_intervals``), a 20 ms
  frame is speech if it overlaps a speech interval;
* the rooms: clean (-80 dBFS dither only), and 6-talker espeak-ng babble, pink noise and a music bed
  (``app.bench.noise``) at -30 dBFS, the foreground's active speech 10 dB and 5 dB above them.

Each detector's raw decisions also go through the throttle's own gate (``SpeechTagger``: 200 ms
lookahead, 300 ms hangover): what throttling would actually skip. Reported per room and detector:
raw frame accuracy; after the gate, speech missed (% of speech frames and seconds), non-speech kept
(% of non-speech frames that would still be sent) and accuracy; and CPU per frame (median).
JSON on stdout, a table on stderr. Deterministic for ``--seed``; about 20 s.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.bench.meeting import PHRASES, _render
from app.bench.noise import RATE, music, pink, scale_to_dbfs
from app.bench.overload_analysis import Interval, speech_intervals
from app.core.messages import FRAME_BYTES, FRAME_SECONDS
from app.core.vad import EnergyVad, SpeechTagger, VadConfig, VoiceDetector
from app.errors import EchoPanelError
from app.session.voice import WebRtcVad

COMMAND = "python -m app.bench vad"
VOICES = ("en-us+m3", "en-us+f3", "en+m1", "en-gb+f2", "en-us+m7", "en+f4", "en-029+f5")
WPM = (130, 150, 170, 195)
NOISE_DBFS = -30.0
DITHER_LSB = 3.0
ROOMS = ("clean", "babble10", "pink10", "music10", "babble5", "pink5", "music5")
DETECTORS: dict[str, Callable[[], VoiceDetector]] = {
    "energy (ours)": EnergyVad,
    "webrtc0 (app)": lambda: WebRtcVad(0),
    "webrtc3": lambda: WebRtcVad(3),
}
Signal = npt.NDArray[np.float64]


def foreground(rng: random.Random, seconds: float) -> Signal:
    """Speaker turns with pauses: float64 at 16 kHz, peak levels 0.15-0.5."""
    total = round(seconds * RATE)
    out = np.zeros(total)
    t = rng.uniform(0.5, 2.0)
    while True:
        audio = _render(rng.choice(VOICES), rng.choice(WPM), rng.choice(PHRASES), rng.uniform(0.15, 0.5))
        start = round(t * RATE)
        if start + audio.size > total - RATE // 4:
            return out
        out[start : start + audio.size] += audio
        t = (start + audio.size) / RATE + rng.uniform(0.3, 3.0)


def babble(rng: random.Random, seconds: float, talkers: int = 6) -> Signal:
    """Six people talking at once, none of them the foreground's words' owner (the truth's)."""
    total = round(seconds * RATE)
    out = np.zeros(total)
    for _ in range(talkers):
        t = rng.uniform(0.0, 1.0)
        while t < seconds:
            audio = _render(rng.choice(VOICES), rng.choice(WPM), rng.choice(PHRASES), 1.0)
            start = round(t * RATE)
            part = audio[: max(0, total - start)]
            out[start : start + part.size] += part * rng.uniform(0.6, 1.0)
            t = (start + audio.size) / RATE + rng.uniform(0.05, 0.4)
    return out


def truth_frames(intervals: Sequence[Interval], frames: int) -> npt.NDArray[np.bool_]:
    """One flag per 20 ms frame: it overlaps a true speech interval."""
    mask = np.zeros(frames, dtype=bool)
    for a, b in intervals:
        first, last = int(a / FRAME_SECONDS + 1e-9), int(np.ceil(b / FRAME_SECONDS - 1e-9))
        mask[max(0, first) : min(frames, last)] = True
    return mask


def active_dbfs(signal: Signal, truth: npt.NDArray[np.bool_]) -> float:
    """RMS level of the speech frames only (the level SNR is stated against)."""
    n = round(FRAME_SECONDS * RATE)
    frames = signal[: truth.size * n].reshape(-1, n)[truth]
    return float(10 * np.log10(np.mean(frames * frames) + 1e-20))


def make_file(room: str, seconds: float, seed: int) -> tuple[bytes, npt.NDArray[np.bool_]]:
    """One recording of ``room``: 16 kHz s16 PCM and its truth per 20 ms frame."""
    rng = random.Random(f"{seed}-{room}")
    clean = foreground(rng, seconds)
    frames = clean.size // round(FRAME_SECONDS * RATE)
    truth = truth_frames(speech_intervals(np.rint(clean * 32767).astype(np.int16), RATE), frames)
    mixed = clean
    if room != "clean":
        kind, snr = room.rstrip("0123456789"), float(room[len(room.rstrip("0123456789")):])
        noise_rng = np.random.default_rng(rng.randrange(2**32))
        bed = {"babble": lambda: babble(rng, seconds), "pink": lambda: pink(noise_rng, clean.size),
               "music": lambda: music(noise_rng, seconds)}[kind]()
        bed = scale_to_dbfs(bed[: clean.size], NOISE_DBFS)
        mixed = clean * 10 ** ((NOISE_DBFS + snr - active_dbfs(clean, truth)) / 20) + bed
    dither = np.random.default_rng(seed).normal(0.0, DITHER_LSB, clean.size)
    pcm = np.clip(np.rint(mixed * 32767 + dither), -32768, 32767).astype("<i2")
    return pcm.tobytes(), truth


@dataclass(frozen=True, slots=True)
class Decisions:
    raw: npt.NDArray[np.bool_]
    gated: npt.NDArray[np.bool_]  # what throttling would send (True) or skip
    micros: list[float]  # detector time per frame


def decide(detector: VoiceDetector, pcm: bytes) -> Decisions:
    """Every frame's raw decision (timed alone) and the throttle gate's verdict on it."""
    tagger: SpeechTagger[int] = SpeechTagger(detector, VadConfig())
    frames = len(pcm) // FRAME_BYTES
    raw = np.zeros(frames, dtype=bool)
    keep: dict[int, bool] = {}
    micros: list[float] = []
    for k in range(frames):
        frame = pcm[k * FRAME_BYTES : (k + 1) * FRAME_BYTES]
        began = time.perf_counter_ns()
        raw[k] = detector.is_speech(frame)
        micros.append((time.perf_counter_ns() - began) / 1000)
        decided = tagger.push(k, frame, bool(raw[k]))
        if decided is not None:
            keep[decided[0]] = decided[1]
    keep.update(dict(tagger.flush()))
    return Decisions(raw, np.array([keep[k] for k in range(frames)], dtype=bool), micros)


Flags = npt.NDArray[np.bool_]


def score(truth: Flags, raw: Flags, gated: Flags) -> dict[str, Any]:
    """Frame figures against the truth (see the module docstring)."""
    speech, silence = int(truth.sum()), int((~truth).sum())
    missed = int((truth & ~gated).sum())
    kept = int((~truth & gated).sum())
    return {
        "frames": int(truth.size), "speech_frames": speech,
        "raw_accuracy": round(float((raw == truth).mean()), 4),
        "gated_accuracy": round(float((gated == truth).mean()), 4),
        "speech_missed_percent": round(100 * missed / speech, 2) if speech else 0.0,
        "speech_missed_seconds": round(missed * FRAME_SECONDS, 2),
        "nonspeech_kept_percent": round(100 * kept / silence, 1) if silence else 0.0,
    }


def run(files: int, seconds: float, seed: int) -> dict[str, Any]:
    rooms: dict[str, dict[str, Any]] = {}
    cpu: dict[str, list[float]] = {name: [] for name in DETECTORS}
    for room in ROOMS:
        recordings = [make_file(room, seconds, seed + k) for k in range(files)]
        truth = np.concatenate([t for _, t in recordings])
        rooms[room] = {}
        for name, make in DETECTORS.items():
            decisions = [decide(make(), pcm) for pcm, _ in recordings]  # one fresh detector per file
            raw = np.concatenate([d.raw for d in decisions])
            gated = np.concatenate([d.gated for d in decisions])
            rooms[room][name] = score(truth, raw, gated)
            cpu[name] += [m for d in decisions for m in d.micros]
    missed = {name: sum(r[name]["speech_missed_seconds"] for r in rooms.values()) for name in DETECTORS}
    kept = {name: float(np.mean([r[name]["nonspeech_kept_percent"] for r in rooms.values()]))
            for name in DETECTORS}
    least = min(round(v, 2) for v in missed.values())
    return {
        "benchmark": "vad",
        "config": {"files_per_room": files, "seconds_per_file": seconds, "seed": seed,
                   "noise_dbfs": NOISE_DBFS,
                   "gate": "SpeechTagger(VadConfig()): 200 ms lookahead, 300 ms hangover",
                   "truth": "clean foreground, 10 ms RMS >= -50 dBFS, gaps < 150 ms merged"},
        "rooms": rooms,
        "total_speech_missed_seconds": {n: round(v, 2) for n, v in missed.items()},
        "mean_nonspeech_kept_percent": {n: round(v, 1) for n, v in kept.items()},
        "cpu_us_per_frame_median": {n: round(float(np.median(v)), 1) for n, v in cpu.items()},
        "fewest_speech_missed": [n for n in DETECTORS if round(missed[n], 2) == least],
    }


def table(result: dict[str, Any]) -> str:
    names = list(DETECTORS)
    head = ["room", *(f"{n}: missed %(s)/kept %/acc" for n in names)]
    rows = [head]
    for room, by in result["rooms"].items():
        rows.append([room, *(f"{by[n]['speech_missed_percent']:.2f}({by[n]['speech_missed_seconds']:.2f})"
                             f"/{by[n]['nonspeech_kept_percent']:.1f}/{by[n]['raw_accuracy']:.3f}"
                             for n in names)])
    rows.append(["cpu us/frame", *(f"{result['cpu_us_per_frame_median'][n]:.1f}" for n in names)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("missed: speech frames the throttle's gate would skip; kept: non-speech frames it would "
                 "still send; acc: raw frame accuracy")
    lines.append(f"fewest speech missed: {', '.join(result['fewest_speech_missed'])}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=3, help="recordings per room (default 3)")
    p.add_argument("--seconds", type=float, default=30.0, help="length of each recording (default 30)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if not (1 <= args.files <= 50 and 5 <= args.seconds <= 600):
        print(f"{COMMAND}: need 1-50 files of 5-600 seconds", file=sys.stderr)
        return 2
    try:
        result = run(args.files, args.seconds, args.seed)
    except EchoPanelError as exc:
        print(f"{COMMAND}: {exc}", file=sys.stderr)
        return 2
    result["command"] = " ".join([COMMAND, *argv])
    print(json.dumps(result, indent=1))
    print(table(result), file=sys.stderr)
    return 0
