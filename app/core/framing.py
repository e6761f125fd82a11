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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import soxr

from app.core.messages import FRAME_BYTES, FRAME_SAMPLES, FRAME_SECONDS, SAMPLE_RATE, Source

LIMITER_THRESHOLD = 0.9
# Successive frames' capture times are at least this far apart. A block clock that corrects itself
# backwards (a device's first callbacks all came late, then one comes early) would otherwise stamp
# the next frames on top of the previous ones; this spreads the correction at 1 ms per frame (a
# slew, as clock daemons do), so a 40 ms correction is absorbed within 0.8 s of audio.
MIN_FRAME_SPACING = 0.95 * FRAME_SECONDS
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


INT16_SCALE = 32768.0  # full scale ±1.0 <-> int16; a power of two, so scaling by it is exact
_LIMIT_BOUND = float(np.float32(LIMITER_THRESHOLD)) * INT16_SCALE  # the knee on the int16 scale


def _to_pcm(y: FloatArray) -> bytes:
    """``to_int16(soft_limit(y / 32768))`` as pcm_s16le bytes, for ``y`` on the int16 scale (the
    framer scales while downmixing, where it costs nothing); rounds ``y`` in place.

    Fast path for the common case, everything below the limiter knee (no NaN): round and cast, the
    same result bit for bit; otherwise the full limiter and clamping."""
    if y.size and not (y.max() <= _LIMIT_BOUND and y.min() >= -_LIMIT_BOUND):  # NaN fails both
        return to_int16(soft_limit(y * np.float32(1.0 / INT16_SCALE))).astype("<i2", copy=False).tobytes()
    np.rint(y, out=y)
    return y.astype("<i2").tobytes()


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
    starts at or before that position plus the offset inside it. Times always increase: a block
    time earlier than the previous frames is caught up with gradually (``MIN_FRAME_SPACING``).
    """

    def __init__(self, source: Source, native_rate: float, channels: int) -> None:
        if native_rate <= 0 or channels <= 0:
            raise ValueError(f"bad stream format: {native_rate} Hz, {channels} channels")
        self.source = source
        self.native_rate = float(native_rate)
        self.channels = channels
        # Downmix weights that also bring the samples to the int16 scale, where the resampler and
        # the limiter check then work (exact: powers of two), so no separate scaling pass is needed.
        self._mix = np.full(channels, INT16_SCALE / channels, dtype=np.float32)  # float input
        self._mix16 = np.full(channels, 1.0 / channels, dtype=np.float32)  # int16 input
        self._resampler: soxr.ResampleStream | None = None
        if self.native_rate != SAMPLE_RATE:
            self._resampler = soxr.ResampleStream(
                self.native_rate, SAMPLE_RATE, 1, dtype="float32", quality=RESAMPLER_QUALITY
            )
        self._pending = b""  # < FRAME_BYTES of pcm carried over to the next frame
        self._in_pos = 0  # input samples fed since the stream (re)started
        self._out_pos = 0  # output samples already cut into frames, since the stream (re)started
        # (input position, time) of recent blocks; pruned as frames pass them, so it stays tiny.
        self._anchor_pos: deque[int] = deque()
        self._anchor_time: deque[float] = deque()
        self._next_index = 0
        self._last_time = -math.inf

    def feed(self, block: AudioBlock, capture_time: float) -> list[Frame]:
        mono = self._downmix(block)
        if mono.size == 0:
            return []
        self._anchor_pos.append(self._in_pos)
        self._anchor_time.append(capture_time)
        self._in_pos += mono.size
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono, last=False)
        return self._emit(mono, pad=False)

    def feed_blocks(self, blocks: Sequence[tuple[AudioBlock, float]]) -> list[Frame]:
        """``feed`` for several consecutive blocks of one stream (e.g. everything a device delivered
        since the last tick), with one resampler call: same frames, same capture times, fewer calls
        (per-call overhead dominates blocks of a few ms)."""
        if len(blocks) <= 1:
            return self.feed(*blocks[0]) if blocks else []
        parts: list[FloatArray] = []
        for block, capture_time in blocks:
            mono = self._downmix(block)
            if mono.size:
                self._anchor_pos.append(self._in_pos)
                self._anchor_time.append(capture_time)
                self._in_pos += mono.size
                parts.append(mono)
        if not parts:
            return []
        joined = np.concatenate(parts)
        if self._resampler is not None:
            joined = self._resampler.resample_chunk(joined, last=False)
        return self._emit(joined, pad=False)

    def flush(self) -> list[Frame]:
        """Emit everything still inside (resampler tail, zero-padded partial frame); reset the stream."""
        tail = np.zeros(0, np.float32)
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(tail, last=True)
        frames = self._emit(tail, pad=True)
        if self._resampler is not None:
            self._resampler.clear()
        self._pending = b""
        self._in_pos = self._out_pos = 0
        self._anchor_pos.clear()
        self._anchor_time.clear()
        return frames

    # ------------------------------------------------------------------ internals
    # Few, large numpy calls per block: at a 20-80 ms cadence each call runs on a cold cache and
    # costs tens of microseconds whatever its size (python -m app.bench pipeline).

    def _downmix(self, block: AudioBlock) -> FloatArray:
        """Mono float32 on the int16 scale, always a new array (the caller's block is never changed)."""
        data = np.asarray(block)
        if data.ndim == 1:
            data = data.reshape(-1, 1)
        if data.ndim != 2 or data.shape[1] != self.channels:
            raise ValueError(f"expected blocks shaped (n, {self.channels}), got {data.shape}")
        # One call: a matrix-vector product (one BLAS call) is the fastest mean over channels for
        # small blocks, and converts int16 input on the way. Mono float input is just scaled.
        if data.dtype == np.int16:
            mono: FloatArray = np.dot(data, self._mix16)
        elif self.channels == 1:
            mono = np.multiply(data[:, 0], np.float32(INT16_SCALE), dtype=np.float32)
        else:
            mono = np.dot(data.astype(np.float32, copy=False), self._mix)
        return mono

    def _emit(self, samples: FloatArray, *, pad: bool) -> list[Frame]:
        raw = self._pending + _to_pcm(samples)
        whole = len(raw) // FRAME_BYTES
        if pad and len(raw) % FRAME_BYTES:
            raw += bytes(FRAME_BYTES - len(raw) % FRAME_BYTES)
            whole += 1
        self._pending = raw[whole * FRAME_BYTES :]
        frames = []
        source, index = self.source, self._next_index
        for i in range(whole):
            frames.append(Frame(source, raw[i * FRAME_BYTES : (i + 1) * FRAME_BYTES], self._time_of_next(),
                                index + i))
            self._out_pos += FRAME_SAMPLES
        self._next_index = index + whole
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
        self._last_time = max(self._last_time + MIN_FRAME_SPACING, t)
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

