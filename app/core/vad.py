"""Voice-activity detection for adaptive throttling: which 20 ms frames are worth sending.

Pure numpy, ~40 µs per frame on average (silent frames skip the FFT), so it runs on the event-loop
thread. Why our own detector: silero needs torch or onnxruntime (hundreds of MB);
``webrtcvad-wheels`` (a small maintained C extension) would do, but is not a dependency of this
project, and this one is tuned for what throttling needs (err toward sending). ``VoiceDetector`` is
the seam to swap another in without touching the policy.

``EnergyVad`` decides per frame from two features:

* level: frame energy in dBFS must clear an adaptive noise floor by ``margin_db`` (and an absolute
  gate). The floor is the minimum frame energy over the last ``floor_window_seconds`` (minimum
  statistics): it follows falling noise at once and rising noise within the window, and speech,
  which has gaps between syllables, does not lift it. Until a full window was seen the floor is
  clamped to ``initial_floor_dbfs``, so a stream that starts with speech is detected: the detector
  errs toward sending.
* periodicity: the peak of the normalised autocorrelation at pitch lags (80-400 Hz) over the last
  40 ms, computed on the first difference of the signal. Voiced speech is periodic (0.4-0.9);
  white, pink and brown noise are not (below 0.25 once differenced, whatever their level), so
  loud non-stationary noise that beats the floor is still rejected.

Unvoiced consonants fail the periodicity test; ``SpeechGate`` restores them with lookahead (frames just
before speech are kept, so word onsets survive) and hangover (frames just after, so word ends and
trailing fricatives survive).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from app.core.messages import FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE

_EPS = 1e-12
T = TypeVar("T")


class VoiceDetector(Protocol):
    """Per-frame speech decision for 16 kHz mono pcm_s16le frames; stateful (one per source)."""

    def is_speech(self, pcm: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class VadConfig:
    margin_db: float = 9.0
    min_level_dbfs: float = -55.0
    initial_floor_dbfs: float = -60.0
    floor_window_seconds: float = 3.0
    min_periodicity: float = 0.35
    pitch_hz: tuple[float, float] = (80.0, 400.0)
    lookahead_seconds: float = 0.2
    hangover_seconds: float = 0.3

    def __post_init__(self) -> None:
        if self.floor_window_seconds <= 0 or self.lookahead_seconds < 0 or self.hangover_seconds < 0:
            raise ValueError("VAD durations must be positive")
        if not 0 < self.pitch_hz[0] < self.pitch_hz[1]:
            raise ValueError("pitch_hz must be an increasing pair of positive frequencies")


@dataclass(frozen=True, slots=True)
class FrameFeatures:
    level_dbfs: float
    floor_dbfs: float
    periodicity: float


class EnergyVad:
    """Energy + periodicity detector with an adaptive noise floor (see the module docstring)."""

    def __init__(self, config: VadConfig | None = None, sample_rate: int = SAMPLE_RATE) -> None:
        self.config = cfg = config or VadConfig()
        span = 2 * FRAME_SAMPLES  # this frame and the previous one: 40 ms holds 3+ pitch periods
        lo = max(1, int(sample_rate / cfg.pitch_hz[1]))
        hi = min(span - 1, math.ceil(sample_rate / cfg.pitch_hz[0]))
        self._lo, self._hi = lo, hi
        # fewer samples overlap at longer lags: scale each lag back to a full-length correlation
        self._unbias = (span - 1) / (span - 1 - np.arange(lo, hi + 1))
        self._nfft = 1 << (span + hi).bit_length()  # zero-padded: linear, not circular, correlation
        self._prev = np.zeros(FRAME_SAMPLES, dtype=np.float64)
        self._levels: deque[float] = deque(maxlen=max(1, round(cfg.floor_window_seconds / FRAME_SECONDS)))
        self.last: FrameFeatures | None = None  # features of the last frame, for tests and tuning

    def is_speech(self, pcm: bytes) -> bool:
        feats = self.features(pcm, lazy=True)
        return feats.periodicity >= self.config.min_periodicity

    def is_speech_many(self, pcms: list[bytes]) -> list[bool]:
        """``[is_speech(p) for p in pcms]``, with one FFT call for all the loud frames instead of one
        each: a tick's frames (4 per source) cost little more than one, since numpy's per-call
        overhead, not the arithmetic, is most of the price of a 20 ms frame."""
        if not pcms or any(len(p) != 2 * FRAME_SAMPLES for p in pcms):
            return [self.is_speech(p) for p in pcms]
        x = np.frombuffer(b"".join(pcms), dtype="<i2").astype(np.float64).reshape(len(pcms), FRAME_SAMPLES)
        x /= 32768.0
        energies = np.einsum("ij,ij->i", x, x) / FRAME_SAMPLES
        cfg, levels, full = self.config, self._levels, self._levels.maxlen or 1
        loud: list[bool] = []
        feats: list[tuple[float, float]] = []
        for energy in energies.tolist():
            level = 10.0 * math.log10(energy + _EPS)
            levels.append(level)
            floor = min(levels)
            if len(levels) < full:
                floor = min(floor, cfg.initial_floor_dbfs)
            loud.append(level >= cfg.min_level_dbfs and level >= floor + cfg.margin_db)
            feats.append((level, floor))
        both = np.concatenate((np.vstack((self._prev, x[:-1])), x), axis=1)  # each frame after its previous
        self._prev = x[-1]
        periodicity = [0.0] * len(pcms)
        rows = [k for k, is_loud in enumerate(loud) if is_loud]
        if rows:
            for k, value in zip(rows, self._periodicities(both[rows]), strict=True):
                periodicity[k] = value
        self.last = FrameFeatures(feats[-1][0], feats[-1][1], periodicity[-1])
        return [p >= cfg.min_periodicity for p in periodicity]

    def _periodicities(self, both: npt.NDArray[np.float64]) -> list[float]:
        """``_periodicity`` of each row (previous frame + frame) of ``both`` at once."""
        diff = both[:, 1:] - both[:, :-1]
        diff -= diff.mean(axis=1, keepdims=True)
        spec = np.fft.rfft(diff, self._nfft, axis=1)
        corr = np.fft.irfft(spec.real**2 + spec.imag**2, self._nfft, axis=1)
        peak = np.max(corr[:, self._lo : self._hi + 1] * self._unbias, axis=1)
        zero = corr[:, 0]
        return [0.0 if z <= _EPS else p / z for p, z in zip(peak.tolist(), zero.tolist(), strict=True)]

    def features(self, pcm: bytes, *, lazy: bool = False) -> FrameFeatures:
        """Measure one frame and update the noise floor with it. ``lazy``: skip the periodicity
        (report 0.0) when the level alone already says "not speech" - most silent frames."""
        x: npt.NDArray[np.float64] = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
        if x.size != FRAME_SAMPLES:  # a short tail frame: pad (or cut) rather than fail
            x = np.concatenate((x, np.zeros(FRAME_SAMPLES)))[:FRAME_SAMPLES]
        prev, self._prev = self._prev, x
        level = 10.0 * math.log10(float(np.dot(x, x)) / FRAME_SAMPLES + _EPS)
        self._levels.append(level)
        floor = min(self._levels)
        if len(self._levels) < (self._levels.maxlen or 1):
            floor = min(floor, self.config.initial_floor_dbfs)
        loud = level >= self.config.min_level_dbfs and level >= floor + self.config.margin_db
        periodicity = self._periodicity(prev, x) if loud or not lazy else 0.0
        self.last = FrameFeatures(level, floor, periodicity)
        return self.last

    def _periodicity(self, prev: npt.NDArray[np.float64], x: npt.NDArray[np.float64]) -> float:
        both = np.concatenate((prev, x))
        diff = both[1:] - both[:-1]  # whitens pink/brown noise; keeps the pitch period
        diff -= diff.mean()
        spec = np.fft.rfft(diff, self._nfft)
        corr = np.fft.irfft(spec.real**2 + spec.imag**2, self._nfft)
        if corr[0] <= _EPS:
            return 0.0
        return float(np.max(corr[self._lo : self._hi + 1] * self._unbias)) / float(corr[0])


class SpeechGate:
    """Raw per-frame decisions -> keep/skip decisions with lookahead and hangover.

    Frame ``k`` is kept if any frame in ``[k - hangover, k + lookahead]`` is speech. Decisions are
    therefore final ``lookahead`` frames late: ``push`` returns the decision for the frame pushed
    ``lookahead_frames`` calls earlier (``None`` while the first ones are still pending), in order.
    O(1) per frame: only the index of the last speech frame is needed.
    """

    def __init__(self, lookahead_frames: int = 10, hangover_frames: int = 15) -> None:
        if lookahead_frames < 0 or hangover_frames < 0:
            raise ValueError("lookahead and hangover must be >= 0")
        self.lookahead_frames = lookahead_frames
        self.hangover_frames = hangover_frames
        self._pushed = 0  # frames pushed so far; the next one gets this sequence number
        self._decided = 0  # frames whose decision has been returned
        self._last_speech = -(10**9)

    @classmethod
    def from_config(cls, config: VadConfig) -> SpeechGate:
        frames = FRAME_SECONDS
        return cls(round(config.lookahead_seconds / frames), round(config.hangover_seconds / frames))

    @property
    def pending(self) -> int:
        """Frames pushed whose decision is not final yet (at most ``lookahead_frames``)."""
        return self._pushed - self._decided

    def push(self, speech: bool) -> bool | None:
        if speech:
            self._last_speech = self._pushed
        self._pushed += 1
        if self._pushed - self._decided <= self.lookahead_frames:
            return None
        return self._decide()

    def flush(self) -> list[bool]:
        """Final decisions for the pending frames, as if the stream ended here."""
        return [self._decide() for _ in range(self.pending)]

    def _decide(self) -> bool:
        k = self._decided
        self._decided += 1
        # the last speech frame seen so far lies at or before k + lookahead (all that was pushed)
        return self._last_speech >= k - self.hangover_frames


class SpeechTagger(Generic[T]):
    """A detector and a ``SpeechGate`` over one stream of items (frames, or wrappers of them): each
    item comes back with its final keep decision once its lookahead has been seen."""

    def __init__(self, detector: VoiceDetector, config: VadConfig | None = None) -> None:
        self.detector = detector
        self._config = config or VadConfig()
        self._gate = SpeechGate.from_config(self._config)
        self._pending: deque[T] = deque()

    def push(self, item: T, pcm: bytes, is_speech: bool | None = None) -> tuple[T, bool] | None:
        """``is_speech``: a decision made elsewhere; else the detector looks at ``pcm``."""
        speech = self.detector.is_speech(pcm) if is_speech is None else is_speech
        self._pending.append(item)
        keep = self._gate.push(speech)
        return None if keep is None else (self._pending.popleft(), keep)

    def detect_many(self, pcms: list[bytes]) -> list[bool]:
        """The detector's raw decisions for several frames in order (to ``push`` with ``is_speech``);
        one that can (``EnergyVad.is_speech_many``) decides them together, in one pass."""
        decide_many = getattr(self.detector, "is_speech_many", None)
        if decide_many is not None:
            return [bool(v) for v in decide_many(pcms)]
        return [self.detector.is_speech(p) for p in pcms]

    @property
    def pending(self) -> int:
        """Items pushed whose decision still waits for their lookahead (at most ``lookahead`` frames)."""
        return len(self._pending)

    def flush(self) -> list[tuple[T, bool]]:
        """Decide the pending items as if the stream ended here; the gate starts afresh."""
        decided = [(self._pending.popleft(), keep) for keep in self._gate.flush()]
        self._gate = SpeechGate.from_config(self._config)
        return decided
