"""The optional local recording of a meeting: one WAV per source (16 kHz mono 16-bit, what the
session captured before throttling), beside the meeting in the data folder, deleted with it.

Size: 32 000 bytes per second per source, ``BYTES_PER_HOUR`` (115.2 MB) per hour per source.

Execution contexts: ``tap(frames)`` is a ``Session.add_audio_tap`` callback on the event-loop thread:
it only appends to a per-source buffer and, once a second of audio has gathered, hands the chunk to
the file thread through a bounded queue (``QUEUE_SECONDS`` of audio). When the queue is full (the
disk stalled) the chunk is dropped and counted, and the file thread writes that much silence when
it catches up, so the recording stays aligned with the meeting's clock. ``close()`` (blocking:
call it off the UI thread) writes what is left and closes the files. The WAV header is rewritten
with every chunk, so after a crash the file plays up to the last second written.
"""

from __future__ import annotations

import logging
import queue
import threading
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from app.history.records import AudioFile

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
SAMPLE_BYTES = 2
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_BYTES
BYTES_PER_HOUR = BYTES_PER_SECOND * 3600  # 115.2 MB per source
CHUNK_BYTES = BYTES_PER_SECOND  # hand over a second at a time
QUEUE_SECONDS = 120


class FrameLike(Protocol):
    """What ``app.core.framing.Frame`` offers the tap."""

    @property
    def source(self) -> str: ...

    @property
    def pcm(self) -> bytes: ...

    @property
    def capture_time(self) -> float: ...


class AudioRecorder:
    """Records every source of one meeting into ``folder`` (``<source>.wav``).

    ``session_start`` is the session's clock reading at its start (the clock of ``Frame.capture_time``):
    each file's ``offset`` says at which session time its first sample was captured.
    """

    def __init__(self, folder: Path, relative_to: Path, session_start: Callable[[], float]) -> None:
        self.folder = folder
        self._relative_to = relative_to
        self._session_start = session_start
        self._pending: dict[str, bytearray] = {}
        self._offsets: dict[str, float] = {}
        self._queue: queue.Queue[tuple[str, bytes, int] | None] = queue.Queue(
            maxsize=QUEUE_SECONDS * BYTES_PER_SECOND // CHUNK_BYTES)
        self._missed: dict[str, int] = {}  # bytes dropped per source, written as silence later
        self.dropped_seconds = 0.0
        self.error = ""
        self._thread = threading.Thread(target=self._run, name="audio-recorder", daemon=True)
        self._thread.start()

    def tap(self, frames: Sequence[FrameLike]) -> None:
        for frame in frames:
            source = str(frame.source)
            pending = self._pending.get(source)
            if pending is None:
                pending = self._pending[source] = bytearray()
                self._offsets[source] = round(frame.capture_time - self._session_start(), 3)
            pending += frame.pcm
            if len(pending) >= CHUNK_BYTES:
                self._hand_over(source)

    def files(self) -> tuple[AudioFile, ...]:
        return tuple(AudioFile(source, self._path(source).relative_to(self._relative_to).as_posix(), offset)
                     for source, offset in sorted(self._offsets.items()))

    def close(self, timeout: float = 30.0) -> None:
        """Write what is left, close every file (blocks)."""
        for source in list(self._pending):
            self._hand_over(source)
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.error("recording: the file thread is stuck; the last seconds are lost")
        self._thread.join(timeout)

    def _hand_over(self, source: str) -> None:
        data = bytes(self._pending[source])
        self._pending[source].clear()
        if not data:
            return
        missed = self._missed.pop(source, 0)
        try:
            self._queue.put_nowait((source, data, missed))
        except queue.Full:
            self._missed[source] = missed + len(data)
            self.dropped_seconds += len(data) / BYTES_PER_SECOND

    def _path(self, source: str) -> Path:
        return self.folder / f"{source}.wav"

    def _run(self) -> None:
        files: dict[str, wave.Wave_write] = {}
        try:
            while (item := self._queue.get()) is not None:
                source, data, missed = item
                if self.error:
                    continue
                try:
                    out = files.get(source) or self._open(files, source)
                    if missed:
                        out.writeframes(bytes(missed))  # silence where the queue was full
                    out.writeframes(data)
                except OSError as exc:
                    self.error = f"The meeting's audio could not be saved: {exc.strerror or exc}."
                    log.error("recording: %s", exc)
        finally:
            for out in files.values():
                try:
                    out.close()
                except OSError as exc:
                    log.error("recording: closing a file failed: %s", exc)

    def _open(self, files: dict[str, wave.Wave_write], source: str) -> wave.Wave_write:
        self.folder.mkdir(parents=True, exist_ok=True)
        out = wave.open(str(self._path(source)), "wb")  # noqa: SIM115 - open for the whole meeting
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_BYTES)
        out.setframerate(SAMPLE_RATE)
        files[source] = out
        return out


def repair_wav(path: Path) -> None:
    """Fix the header of a WAV left by a crash (the data length is whatever was written)."""
    try:
        size = path.stat().st_size
        with open(path, "r+b") as f:
            header = f.read(44)
            if len(header) < 44 or header[:4] != b"RIFF" or header[36:40] != b"data":
                return
            data = size - 44
            f.seek(4)
            f.write((36 + data).to_bytes(4, "little"))
            f.seek(40)
            f.write(data.to_bytes(4, "little"))
    except OSError as exc:
        log.warning("recording: could not repair %s: %s", path, exc)
