"""Native audio blocks → 16 kHz mono pcm_s16le 20 ms frames (CONTRACT.md section 7).

Pipeline per source, all vectorised numpy (no per-sample Python): downmix to mono (mean of channels),
streaming resample to 16 kHz with soxr (a C extension, no devices or threads: allowed in core), soft
limiter, float → int16 with clamping, cut into 320-sample frames with the remainder carried over.

Pure and single-threaded: a ``Framer`` belongs to the event-loop thread that drains one source.
Capture times are derived from each block's capture timestamp and the sample position inside the
stream, never accumulated, so they do not drift; ``BlockClock`` turns a device's sample count and
callback times into those block timestamps.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import soxr

from app.core.messages import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, Source

LIMITER_THRESHOLD = 0.9
# soxr "HQ": ~20-bit quality, ~20-40 ms of algorithmic latency at 44.1/48 kHz, thousands of times
# faster than real time; "LQ"/"MQ" buy nothing here (MQ even emits in bursts, i.e. more latency).
RESAMPLER_QUALITY = "HQ"

FloatArray = npt.NDArray[np.float32]
AudioBlock = npt.NDArray[Any]  # float32 (full scale ±1.0) or int16, shaped (n, channels) or (n,)


@dataclass(frozen=True, slots=True)
class Frame:
    """One 20 ms frame: 640 bytes pcm_s16le mono 16 kHz.

    ``capture_time`` is the clock time (the capture's clock, normally ``time.monotonic``) of the
    frame's first sample; ``index`` counts this source's frames from 0.
    """

    source: Source
    pcm: bytes
    capture_time: float
    index: int


def soft_limit(x: FloatArray, threshold: float = LIMITER_THRESHOLD) -> FloatArray:
    """Linear below ``threshold``; above it a tanh knee that approaches ±1.0 without reaching it.

    Continuous with slope 1 at the knee, so speech near full scale is compressed, not clipped.
    Works in place on ``x`` (which must be float32) and returns it.
    """
    mag = np.abs(x)
    over = mag > threshold
    if over.any():
        span = 1.0 - threshold
        knee = threshold + span * np.tanh((mag[over] - threshold) / span)
        x[over] = np.copysign(knee, x[over]).astype(np.float32)
    return x


def to_int16(x: FloatArray) -> npt.NDArray[np.int16]:
    """Float in [-1, 1) → int16, clamped (NaN becomes 0) so no input can wrap around.

    Scaled by 32768, the inverse of the int16 → float conversion, so int16 input below the limiter
    threshold passes through bit-exact.
    """
    y = x * np.float32(32768.0)
    np.clip(y, -32768.0, 32767.0, out=y)
    np.rint(y, out=y)
    if np.isnan(y.sum()):  # one cheap reduction instead of nan_to_num's several passes
        y[np.isnan(y)] = 0.0
    return y.astype(np.int16)


class Framer:
    """Turns native-rate blocks of one source into ``Frame``s.

    ``feed(block, capture_time)`` takes float32 (full scale ±1.0) or int16 samples shaped
    ``(n, channels)`` (or ``(n,)`` for mono) at ``native_rate``; ``capture_time`` is the time of the
    block's first sample. It returns every complete frame now available; the rest (the resampler's
    latency and a partial frame) is carried to the next call. ``flush()`` at stop drains the
    resampler and zero-pads the last partial frame, so no tail is lost; the framer can then be fed
    again as a fresh stream (indices keep counting).

    Capture times: the output sample ``k`` of the resampled stream lines up with input position
    ``k * native_rate / 16000`` (soxr is phase-aligned); its time is that of the latest block that
    starts at or before that position plus the offset inside it. Times never decrease.
    """

    def __init__(self, source: Source, native_rate: float, channels: int) -> None:
        if native_rate <= 0 or channels <= 0:
            raise ValueError(f"bad stream format: {native_rate} Hz, {channels} channels")
        self.source = source
        self.native_rate = float(native_rate)
        self.channels = channels
        self._mix = np.full(channels, 1.0 / channels, dtype=np.float32)
        self._resampler: soxr.ResampleStream | None = None
        if self.native_rate != SAMPLE_RATE:
            self._resampler = soxr.ResampleStream(
                self.native_rate, SAMPLE_RATE, 1, dtype="float32", quality=RESAMPLER_QUALITY
            )
        self._pending = np.zeros(0, dtype=np.int16)  # < FRAME_SAMPLES samples carried over
        self._in_pos = 0  # input samples fed since the stream (re)started
        self._out_pos = 0  # output samples already cut into frames, since the stream (re)started
        # (input position, time) of recent blocks; pruned as frames pass them, so it stays tiny.
        self._anchor_pos: deque[int] = deque()
        self._anchor_time: deque[float] = deque()
        self._next_index = 0
        self._last_time = -math.inf

    @property
    def frames_out(self) -> int:
        return self._next_index

    def feed(self, block: AudioBlock, capture_time: float) -> list[Frame]:
        mono = self._downmix(block)
        if mono.size == 0:
            return []
        self._anchor_pos.append(self._in_pos)
        self._anchor_time.append(capture_time)
        self._in_pos += mono.size
        return self._emit(self._resample(mono, last=False), pad=False)

    def flush(self) -> list[Frame]:
        """Emit everything still inside (resampler tail, zero-padded partial frame); reset the stream."""
        frames = self._emit(self._resample(np.zeros(0, np.float32), last=True), pad=True)
        if self._resampler is not None:
            self._resampler.clear()
        self._pending = np.zeros(0, dtype=np.int16)
        self._in_pos = self._out_pos = 0
        self._anchor_pos.clear()
        self._anchor_time.clear()
        return frames

    # ------------------------------------------------------------------ internals

    def _downmix(self, block: AudioBlock) -> FloatArray:
        data = np.asarray(block)
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        if data.ndim != 2 or data.shape[1] != self.channels:
            raise ValueError(f"expected blocks shaped (n, {self.channels}), got {data.shape}")
        if data.dtype == np.int16:
            floats = data.astype(np.float32) * np.float32(1.0 / 32768.0)
        else:
            floats = data.astype(np.float32, copy=False)
        if self.channels == 1:
            return np.ascontiguousarray(floats[:, 0])
        # A matrix-vector product is the fastest mean over channels for small blocks (one BLAS call).
        mono: FloatArray = np.asarray(floats @ self._mix, dtype=np.float32)
        return mono

    def _resample(self, mono: FloatArray, *, last: bool) -> FloatArray:
        if self._resampler is None:
            return mono
        out: FloatArray = self._resampler.resample_chunk(mono, last=last)
        return out

    def _emit(self, samples: FloatArray, *, pad: bool) -> list[Frame]:
        pcm = to_int16(soft_limit(samples.copy()))
        if self._pending.size:
            pcm = np.concatenate((self._pending, pcm))
        whole = pcm.size // FRAME_SAMPLES
        if pad and pcm.size % FRAME_SAMPLES:
            pcm = np.concatenate((pcm, np.zeros(FRAME_SAMPLES - pcm.size % FRAME_SAMPLES, np.int16)))
            whole += 1
        raw = pcm[: whole * FRAME_SAMPLES].astype("<i2", copy=False).tobytes()
        self._pending = pcm[whole * FRAME_SAMPLES :].copy()
        frames = []
        for i in range(whole):
            chunk = raw[i * FRAME_BYTES : (i + 1) * FRAME_BYTES]
            frames.append(Frame(self.source, chunk, self._time_of_next(), self._next_index))
            self._next_index += 1
            self._out_pos += FRAME_SAMPLES
        return frames

    def _time_of_next(self) -> float:
        """Capture time of output sample ``self._out_pos`` (the next frame's first sample)."""
        if not self._anchor_pos:
            return max(self._last_time, 0.0)  # only reachable if flush() is called before any feed
        in_pos = self._out_pos * self.native_rate / SAMPLE_RATE
        # Drop anchors that no future frame can need: the next one already starts at/before in_pos.
        while len(self._anchor_pos) > 1 and self._anchor_pos[1] <= in_pos:
            self._anchor_pos.popleft()
            self._anchor_time.popleft()
        i = max(bisect.bisect_right(self._anchor_pos, in_pos) - 1, 0)
        t = self._anchor_time[i] + (in_pos - self._anchor_pos[i]) / self.native_rate
        self._last_time = max(self._last_time, t)
        return self._last_time


class BlockClock:
    """Capture timestamps for a live device's blocks: sample-exact, jitter-free, drift-bounded.

    The device's sample count is the timeline: block time = anchor + position / rate. The anchor is
    the earliest start consistent with every callback so far (a block cannot have started later than
    its callback time minus its own duration, and callbacks only ever come late), so callback jitter
    never enters the timestamps. When the callbacks show the timeline running more than
    ``jump_seconds`` behind the clock for ``settle_seconds`` on end (the device stalled, or its clock
    is slower than ours), it re-anchors forward; a one-off burst of late callbacks does not.
    Positions include blocks the hand-off dropped, so frames after a drop keep their true times.
    """

    def __init__(self, rate: float, jump_seconds: float = 0.25, settle_seconds: float = 0.5) -> None:
        self.rate = float(rate)
        self.jump_seconds = jump_seconds
        self.settle_seconds = settle_seconds
        self._anchor: float | None = None
        self._late_since: float | None = None  # callback time when the timeline first fell behind
        self._late_min = math.inf  # the smallest anchor candidate seen while behind

    def block_time(self, device_pos: int, frames: int, callback_time: float) -> float:
        """Time of the first sample of a block of ``frames`` starting at ``device_pos``."""
        candidate = callback_time - (device_pos + frames) / self.rate
        if self._anchor is None or candidate <= self._anchor:
            self._anchor = candidate
            self._late_since = None
        elif candidate - self._anchor <= self.jump_seconds:
            self._late_since = None
        else:
            if self._late_since is None:
                self._late_since, self._late_min = callback_time, candidate
            self._late_min = min(self._late_min, candidate)
            if callback_time - self._late_since >= self.settle_seconds:
                self._anchor, self._late_since = self._late_min, None
        return self._anchor + device_pos / self.rate


def frame_signal(
    signal: AudioBlock,
    native_rate: float,
    source: Source = Source.SYSTEM,
    *,
    block_frames: int | None = None,
    start_time: float = 0.0,
) -> list[Frame]:
    """Frame a whole signal the way live capture would (blocks of ``block_frames``, default 20 ms),
    flushing at the end. For tests and the pipeline benchmark: this is the function to time."""
    data = np.asarray(signal)
    channels = 1 if data.ndim == 1 else int(data.shape[1])
    step = block_frames or max(1, round(native_rate / 50))
    framer = Framer(source, native_rate, channels)
    frames: list[Frame] = []
    for start in range(0, data.shape[0], step):
        frames.extend(framer.feed(data[start : start + step], start_time + start / native_rate))
    frames.extend(framer.flush())
    return frames
