"""Synthetic two-source meetings with KNOWN speech intervals, for the overload benchmark.

``load_meeting(MeetingSpec(seconds=120, seed=7))`` returns two 16 kHz mono WAVs of exactly ``seconds``
(system = two remote participants, espeak-ng ``en-us`` voices; mic = the local user, ``en``) and the
true speech intervals of each, computed from the generated clean speech itself (10 ms frame energy
above -50 dBFS, gaps shorter than 150 ms merged: ``overload_analysis.speech_intervals``).

Layouts (``MeetingSpec.layout``), deterministic for a seed, from a fixed phrase list:

* ``sparse``: a conversation. Mostly alternating turns with 0.4-3 s pauses, sometimes the same
  speaker again, sometimes the other source starts before the current turn ends (overlap). About a
  third of each source is speech.
* ``dense``: both sources talk through most of the meeting, each on its own, with 0.15-0.6 s
  pauses between phrases (people talking over each other, or a presentation over a busy room):
  about 85 % of each source is speech.

Rooms (``MeetingSpec.room``): ``quiet`` puts only a -80 dBFS dither under the speech; ``noisy`` adds
a steady pink noise under the microphone and a music bed under the system audio, each at
``NOISE_DBFS`` RMS (``app.bench.noise``), so there is no clean silence anywhere. Real rooms are never
digitally silent, and the dither (or noise) makes every 20 ms frame unique, which is what lets the
benchmark tell exactly which captured frame each frame received by the backend was.

Results are cached under ``cache_dir`` (default: the user cache directory) by a key of the spec,
the generator version and the espeak-ng version, so repeated runs do not regenerate.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

from app.bench.noise import music, pink, scale_to_dbfs
from app.bench.overload_analysis import Interval, speech_intervals
from app.core.messages import Source
from app.errors import ConfigError

GENERATOR_VERSION = 2
RATE = 16_000
DITHER_LSB = 3.0  # standard deviation of the dither, in int16 steps (about -80 dBFS)
LEAD_IN_SECONDS = 0.6
TAIL_SECONDS = 0.5
GAP_SECONDS = (0.4, 3.0)
OVERLAP_SECONDS = (0.3, 1.2)
OVERLAP_CHANCE = 0.15
SAME_SPEAKER_CHANCE = 0.25
DENSE_GAP_SECONDS = (0.15, 0.6)
NOISE_DBFS = -30.0
LAYOUTS = ("sparse", "dense")
ROOMS = ("quiet", "noisy")

# (espeak-ng voice, words per minute, peak level): system = two remote participants, mic = local user.
VOICES: dict[Source, tuple[tuple[str, int, float], ...]] = {
    Source.SYSTEM: (("en-us+m3", 165, 0.45), ("en-us+f3", 175, 0.40)),
    Source.MIC: (("en+m1", 150, 0.50),),
}

PHRASES = (
    "Good morning everyone, thanks for joining the weekly planning call.",
    "Let's start with the status of the mobile release.",
    "The build passed last night, but two tests are still flaky.",
    "I think we should postpone the launch by one week.",
    "Can you share the numbers from the customer survey?",
    "Sure, about seventy percent of users asked for offline mode.",
    "That matches what support has been hearing, too.",
    "Who owns the migration plan for the billing database?",
    "Maria will draft it and send it around by Friday.",
    "We still need a decision on the hosting budget.",
    "The current contract expires at the end of the quarter.",
    "Let's compare two offers before we commit to anything.",
    "I can set up a meeting with the vendor on Tuesday.",
    "Please add the security review to the checklist.",
    "The design team wants feedback on the new onboarding screens.",
    "I like the second version better, it is much simpler.",
    "One risk is that the translation files are not ready.",
    "We could ship English first and add the others later.",
    "Does anyone object to moving the demo to Thursday afternoon?",
    "No objection from me, Thursday works.",
    "Let's capture that as a decision in the notes.",
    "Next topic, the hiring plan for the data team.",
    "We have two open positions and about forty applicants.",
    "Interviews will start the week after next.",
    "Can we make sure the job description mentions remote work?",
    "Good point, I will update it today.",
    "Performance on the search page improved by thirty percent.",
    "That is great news, nice work everybody.",
    "The remaining issue is memory use on older phones.",
    "I will profile it and report back on Monday.",
    "Any other business before we wrap up?",
    "Just a reminder that the office is closed next Friday.",
    "Thanks all, I will send the summary after the call.",
    "Quick question about the analytics dashboard.",
    "It loads slowly when the date range is longer than a month.",
    "We know, a caching fix is already in review.",
)


@dataclass(frozen=True, slots=True)
class MeetingSpec:
    seconds: float = 120.0
    seed: int = 7
    layout: str = "sparse"
    room: str = "quiet"

    def __post_init__(self) -> None:
        if not 5.0 <= self.seconds <= 3600.0:
            raise ConfigError(f"A meeting of {self.seconds:g} s is not supported: use 5-3600 seconds.")
        if self.layout not in LAYOUTS or self.room not in ROOMS:
            raise ConfigError(f"Unknown meeting {self.layout}/{self.room}: layouts {', '.join(LAYOUTS)}, "
                              f"rooms {', '.join(ROOMS)}.")

    def key(self) -> str:
        text = json.dumps({**asdict(self), "v": GENERATOR_VERSION, "espeak": _espeak_version(),
                           "voices": {s.value: v for s, v in VOICES.items()}}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Turn:
    source: str
    voice: str
    wpm: int
    peak: float
    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Meeting:
    spec: MeetingSpec
    files: dict[Source, Path]
    speech: dict[Source, tuple[Interval, ...]]  # true speech intervals, seconds from the file's start

    def speech_seconds(self, source: Source) -> float:
        return sum(end - start for start, end in self.speech[source])


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("echopanel-companion")) / "bench-meetings"


def load_meeting(spec: MeetingSpec, cache_dir: Path | None = None) -> Meeting:
    """The cached meeting for ``spec``, generated first if needed (a few seconds of espeak-ng)."""
    folder = (cache_dir or default_cache_dir()) / f"meeting-{spec.key()}"
    if not (folder / "meeting.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder.parent))
        try:
            _generate(spec, staging)
            if not (folder / "meeting.json").is_file():  # a concurrent run may have won the race
                shutil.rmtree(folder, ignore_errors=True)
                staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    info = json.loads((folder / "meeting.json").read_text())
    return Meeting(
        spec=spec,
        files={src: folder / f"{src.value}.wav" for src in VOICES},
        speech={src: tuple((float(a), float(b)) for a, b in info["speech"][src.value]) for src in VOICES},
    )


def _generate(spec: MeetingSpec, folder: Path) -> None:
    rng = random.Random(spec.seed)
    total = round(spec.seconds * RATE)
    clean = {src: np.zeros(total, dtype=np.float32) for src in VOICES}
    turns = _layout(spec.seconds, rng) if spec.layout == "sparse" else _dense_layout(spec.seconds, rng)
    for turn in turns:
        audio = _render(turn.voice, turn.wpm, turn.text, turn.peak)
        start = round(turn.start * RATE)
        clean[Source(turn.source)][start : start + audio.size] += audio
    speech: dict[str, list[list[float]]] = {}
    noise = np.random.default_rng(spec.seed)
    beds = _beds(spec, total)
    for src, signal in clean.items():
        mixed = signal + beds[src] if src in beds else signal
        pcm = np.clip(np.rint(mixed * 32767 + noise.normal(0.0, DITHER_LSB, total)), -32768, 32767)
        _write_wav(folder / f"{src.value}.wav", pcm.astype(np.int16))
        truth = np.rint(signal * 32767).astype(np.int16)  # the clean signal: the truth, without dither
        speech[src.value] = [[round(a, 3), round(b, 3)] for a, b in speech_intervals(truth, RATE)]
    info = {"spec": asdict(spec), "turns": [asdict(t) for t in turns], "speech": speech}
    (folder / "meeting.json").write_text(json.dumps(info, indent=1))


def _beds(spec: MeetingSpec, total: int) -> dict[Source, npt.NDArray[np.float64]]:
    """The noisy room's background per source (none in a quiet room)."""
    if spec.room == "quiet":
        return {}
    rng = np.random.default_rng(spec.seed + 1000)
    return {Source.MIC: scale_to_dbfs(pink(rng, total), NOISE_DBFS),
            Source.SYSTEM: scale_to_dbfs(music(rng, total / RATE), NOISE_DBFS)}


def _dense_layout(seconds: float, rng: random.Random) -> list[Turn]:
    """Each source talks on its own, phrase after phrase with short pauses, from the lead-in on."""
    turns: list[Turn] = []
    phrases = list(PHRASES)
    rng.shuffle(phrases)
    i = 0
    for src in (Source.SYSTEM, Source.MIC):
        t = LEAD_IN_SECONDS + (0.0 if src is Source.SYSTEM else rng.uniform(0.5, 1.5))
        while True:
            voice, wpm, peak = rng.choice(VOICES[src])
            text = phrases[i % len(phrases)]
            i += 1
            duration = _render(voice, wpm, text, peak).size / RATE
            if t + duration > seconds - TAIL_SECONDS:
                break
            turns.append(Turn(src.value, voice, wpm, peak, text, round(t, 3), round(t + duration, 3)))
            t += duration + rng.uniform(*DENSE_GAP_SECONDS)
    return sorted(turns, key=lambda turn: turn.start)


def _layout(seconds: float, rng: random.Random) -> list[Turn]:
    """Turns with start times; durations come from rendering each phrase once."""
    turns: list[Turn] = []
    free = {src: 0.0 for src in VOICES}  # when each source is free to speak again
    speaker, end_of_last = Source.SYSTEM, LEAD_IN_SECONDS - GAP_SECONDS[0]
    phrases = list(PHRASES)
    rng.shuffle(phrases)
    for i in range(10_000):
        if rng.random() >= SAME_SPEAKER_CHANCE:
            speaker = Source.MIC if speaker is Source.SYSTEM else Source.SYSTEM
        voice, wpm, peak = rng.choice(VOICES[speaker])
        text = phrases[i % len(phrases)]
        duration = _render(voice, wpm, text, peak).size / RATE
        if turns and turns[-1].source != speaker.value and rng.random() < OVERLAP_CHANCE:
            start = end_of_last - rng.uniform(*OVERLAP_SECONDS)
        else:
            start = end_of_last + rng.uniform(*GAP_SECONDS)
        start = max(start, free[speaker] + GAP_SECONDS[0])
        if start + duration > seconds - TAIL_SECONDS:
            break
        turns.append(Turn(speaker.value, voice, wpm, peak, text, round(start, 3), round(start + duration, 3)))
        free[speaker] = start + duration
        end_of_last = max(end_of_last, start + duration)
    return turns


_RENDERED: dict[tuple[str, int, str, float], npt.NDArray[np.float32]] = {}


def _render(voice: str, wpm: int, text: str, peak: float) -> npt.NDArray[np.float32]:
    """One phrase from espeak-ng: 16 kHz float32, leading/trailing silence trimmed, peak-normalised."""
    key = (voice, wpm, text, peak)
    if key not in _RENDERED:
        try:
            out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "--stdout", text],
                                 capture_output=True, check=True, timeout=60).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise ConfigError(f"espeak-ng could not synthesise the benchmark meeting ({exc}). Install it "
                              "(Debian/Ubuntu: apt install espeak-ng) and try again.") from exc
        rate, samples = _parse_espeak_wav(out)
        audio = soxr.resample(samples.astype(np.float32) / 32768.0, rate, RATE).astype(np.float32)
        loud = np.flatnonzero(np.abs(audio) > 1e-3)
        audio = audio[loud[0] : loud[-1] + 1] if loud.size else audio[:0]
        _RENDERED[key] = audio * np.float32(peak / max(float(np.abs(audio).max(initial=0.0)), 1e-9))
    return _RENDERED[key]


def _parse_espeak_wav(data: bytes) -> tuple[int, npt.NDArray[np.int16]]:
    """espeak-ng's ``--stdout`` WAV has placeholder sizes: find the fmt and data chunks by hand."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ConfigError("espeak-ng produced no WAV audio; check that espeak-ng works: espeak-ng 'hello'.")
    pos, rate = 12, 22_050
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            rate = int.from_bytes(data[pos + 12 : pos + 16], "little")
        elif chunk == b"data":
            body = data[pos + 8 :]
            return rate, np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2").astype(np.int16)
        pos += 8 + size
    raise ConfigError("espeak-ng produced a WAV without audio data.")


def _write_wav(path: Path, samples: npt.NDArray[np.int16]) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.astype("<i2").tobytes())


def _espeak_version() -> str:
    try:
        out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "missing"
    return " ".join(out.split()[:4])
