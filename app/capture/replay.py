"""Replay a WAV file as an ``AudioSource``: for headless runs, demos, benchmarks and tests.

The file's native blocks go through the same ``Framer`` as live capture. Any rate and channel
count is accepted (16-bit PCM, read with the stdlib ``wave`` module); the framer downmixes and
resamples.

Pacing: ``realtime=True`` releases audio against absolute deadlines from an injected monotonic
clock (sample ``n`` is due at ``start + n / rate``), so pacing never accumulates sleep error. Like
a live device behind a stalled loop, at most ``capacity_seconds`` of backlog is kept; older due
audio is skipped and counted as hand-off drops. ``realtime=False`` hands out ``batch_seconds``
per ``read_frames()`` call, as fast as the caller consumes (throughput benches, fast tests);
capture times are then virtual (start + position / rate).

The file is read ``READ_AHEAD_SECONDS`` at a time and the due samples are cut from that buffer: one
file read per half second instead of one per session tick (which cost about 0.1 % of a core for two
sources). Only the reading runs ahead; what is released when, and its capture times, are unchanged.

Event-loop thread only; no threads, no tasks: the session's own cadence drives ``read_frames()``.
"""

from __future__ import annotations

import math
import time
import wave
from pathlib import Path

import numpy as np

from app.capture.source import CaptureCounters, Clock, FrameOutlet
from app.core.framing import Frame, Framer
from app.core.messages import Source
from app.errors import AudioError, ConfigError

READ_AHEAD_SECONDS = 0.5


def check_wav(path: Path) -> tuple[int, int, int]:
    """(rate, channels, frames) of a readable 16-bit PCM WAV, else ``ConfigError`` saying what is wrong
    (also for a file whose header promises more audio than it holds: a cut-off download or recording
    would otherwise end the replay early without a word)."""
    if path.is_dir():
        raise ConfigError(
            f"Replay file {str(path)!r} is a directory. Give the path of a 16-bit PCM WAV file."
        )
    if not path.is_file():
        raise ConfigError(
            f"Replay file {str(path)!r} does not exist. Give the path of a 16-bit PCM WAV file."
        )
    try:
        with wave.open(str(path), "rb") as w:
            rate, channels, width, frames = (
                w.getframerate(),
                w.getnchannels(),
                w.getsampwidth(),
                w.getnframes(),
            )
            held = _frames_present(w, frames)
    except (wave.Error, EOFError) as exc:
        raise ConfigError(
            f"Replay file {str(path)!r} is not a PCM WAV file ({exc}). Convert it to 16-bit PCM, e.g. "
            f"'sox in.wav -b 16 -e signed-integer out.wav' or 'ffmpeg -i in -c:a pcm_s16le out.wav'."
        ) from exc
    except OSError as exc:
        raise ConfigError(f"Replay file {str(path)!r} cannot be read: {exc.strerror or exc}.") from exc
    if width != 2:
        raise ConfigError(
            f"Replay file {str(path)!r} has {8 * width}-bit samples; only 16-bit PCM is supported. "
            f"Convert it, e.g. 'sox in.wav -b 16 out.wav'."
        )
    if frames == 0:
        raise ConfigError(f"Replay file {str(path)!r} contains no audio.")
    if rate <= 0 or channels <= 0:
        raise ConfigError(
            f"Replay file {str(path)!r} has an invalid format ({rate} Hz, {channels} channels)."
        )
    if held < frames:
        raise ConfigError(
            f"Replay file {str(path)!r} is truncated: its header promises {frames / rate:.1f} s of audio but "
            f"it holds {held / rate:.1f} s. Use a complete copy, or rewrite the header, e.g. "
            f"'sox --ignore-length in.wav out.wav'."
        )
    return rate, channels, frames


def _frames_present(w: wave.Wave_read, promised: int) -> int:
    """How many of the ``promised`` frames the file really holds: a binary search with one-frame
    reads (``setpos`` only moves a pointer), so a long file is never read whole."""
    def present(n: int) -> bool:  # is frame n-1 there?
        w.setpos(n - 1)
        return len(w.readframes(1)) == w.getsampwidth() * w.getnchannels()

    if promised == 0 or present(promised):
        return promised
    low, high = 0, promised - 1  # the answer is in [low, high]
    while low < high:
        mid = (low + high + 1) // 2
        if present(mid):
            low = mid
        else:
            high = mid - 1
    w.rewind()
    return low


class ReplaySource:
    """A WAV file as an ``AudioSource``. The constructor validates the file (``ConfigError``)."""

    def __init__(
        self,
        source: Source,
        path: str | Path,
        *,
        realtime: bool = True,
        loop: bool = False,
        clock: Clock = time.monotonic,
        capacity_seconds: float = 2.0,
        batch_seconds: float = 1.0,
    ) -> None:
        self._source = source
        self._path = Path(path)
        self._rate, self._channels, self._total = check_wav(self._path)
        self._realtime = realtime
        self._loop = loop
        self._clock = clock
        self._capacity = max(1, round(capacity_seconds * self._rate))
        self._batch = max(1, round(batch_seconds * self._rate))
        self._wav: wave.Wave_read | None = None
        self._framer = Framer(source, self._rate, self._channels)
        self._start = 0.0
        self._released = 0  # samples handed to the framer or skipped, over the whole replay
        self._file_pos = 0  # position inside the file (wraps when looping) of the next sample released
        self._read_ahead = max(1, round(READ_AHEAD_SECONDS * self._rate))
        self._ahead = np.zeros((0, self._channels), dtype="<i2")  # read from the file, not yet released
        self._skipped_samples = 0
        self._skips = 0
        self._out = FrameOutlet()

    @property
    def source(self) -> Source:
        return self._source

    @property
    def description(self) -> str:
        seconds = self._total / self._rate
        return f"replay of {self._path.name} ({seconds:.1f} s, {self._rate} Hz, {self._channels} ch)"

    @property
    def fault(self) -> AudioError | None:
        return None

    @property
    def finished(self) -> bool:
        return self._out.finished

    @property
    def duration_seconds(self) -> float:
        return self._total / self._rate

    async def start(self) -> None:
        if self._wav is not None or self._out.finished:
            raise RuntimeError("a ReplaySource starts once")
        check_wav(self._path)  # the file may have changed since construction
        self._wav = wave.open(str(self._path), "rb")  # noqa: SIM115 - open across reads; closed at end/stop
        self._start = self._clock()

    async def stop(self) -> None:
        if self._wav is None or self._out.stopping or self._out.finished:
            return
        # Like a live device, whose stop keeps what it delivered before it stopped: the audio due since
        # the last read goes out too (not only up to the last tick), then the resampler's padded tail.
        due = self._release(self._due_samples()) if self._realtime else []
        self._out.end_with(due + self._framer.flush())
        self._wav.close()

    def read_frames(self) -> list[Frame]:
        tail = self._out.take_tail()
        if tail is not None:
            return tail
        if self._wav is None or self._out.finished:
            return []
        frames = self._release(self._due_samples())
        if not self._loop and self._file_pos >= self._total:
            frames.extend(self._framer.flush())
            self._wav.close()
            self._out.finished = True
        return self._out.hand_out(frames)

    def counters(self) -> CaptureCounters:
        return CaptureCounters(
            captured_frames=self._out.captured,
            handoff_drops=self._skips,
            dropped_seconds=self._skipped_samples / self._rate,
        )

    # ----------------------------------------------------------- internals

    def _due_samples(self) -> int:
        """How many more native samples to release now."""
        if not self._realtime:
            return self._batch
        due_total = math.floor((self._clock() - self._start) * self._rate)
        backlog = due_total - self._released
        if backlog > self._capacity:  # the loop stalled: keep the newest capacity, like the live hand-off
            self._skip(backlog - self._capacity)
            backlog = self._capacity
        return max(backlog, 0)

    def _skip(self, samples: int) -> None:
        self._skips += 1
        self._skipped_samples += samples
        self._released += samples
        self._seek(samples)

    def _seek(self, samples: int) -> None:
        assert self._wav is not None
        target = self._file_pos + samples
        if self._loop and self._total:
            target %= self._total
        self._file_pos = min(target, self._total)
        self._wav.setpos(self._file_pos)
        self._ahead = self._ahead[:0]

    def _release(self, samples: int) -> list[Frame]:
        assert self._wav is not None
        frames: list[Frame] = []
        while samples > 0 and (self._loop or self._file_pos < self._total):
            block = self._read(min(samples, self._total - self._file_pos))
            got = len(block)
            if got == 0:  # truncated file: treat what is missing as its end
                self._total = self._file_pos
                break
            frames.extend(self._framer.feed(block, self._start + self._released / self._rate))
            self._released += got
            samples -= got
            self._file_pos += got
            if self._loop and self._file_pos >= self._total:
                self._file_pos = 0  # wrap; the resampler stream continues seamlessly
                self._wav.rewind()
                self._ahead = self._ahead[:0]
        return frames

    def _read(self, n: int) -> np.ndarray:
        """The next ``n`` samples (fewer at a truncated end), shaped (n, channels); a view into the
        read-ahead buffer, which is refilled from the file when it runs short."""
        assert self._wav is not None
        if len(self._ahead) < n:
            raw = self._wav.readframes(max(n - len(self._ahead), self._read_ahead))
            more = np.frombuffer(raw, dtype="<i2").reshape(-1, self._channels)
            self._ahead = np.concatenate((self._ahead, more)) if len(self._ahead) else more
        block, self._ahead = self._ahead[:n], self._ahead[n:]
        return block
