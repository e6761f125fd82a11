"""Lossless recordings of what a connection received and what the recognizer processed.

Layout: ``{record_dir}/{session_id}/{connection_id}/{source}.wav`` (everything received for that
source) and ``{source}.processed.wav`` (exactly the audio the recognizer consumed, after drops), plus
``connection.json`` with the start time that orders a session's connections. Ids become folder and
file names through ``safe_name``, which is injective: distinct ids never share a name (also on
case-insensitive file systems), and no name escapes ``record_dir``.

Provenance: ``{source}.processed.jsonl`` has one line per piece of received audio the recognizer
consumed, ``{"start": B0, "end": B1, "t": T}``: bytes ``[B0, B1)`` of ``{source}.wav`` (the
connection's received stream of that source), which left the server queue for the recognizer at
``time.monotonic()`` ``T``, so processed audio can be traced back to what the client sent, and when.
The lines are in the order of ``{source}.processed.wav``: concatenating their ranges of the received
stream gives it exactly. Faithful mode writes a chunk's lines (2 s by default) when the recognizer
starts on it, with ``"cut": C``, that moment; ``T`` is when each piece was pulled into the
recognizer's buffer (on arrival while the recognizer keeps up, in a burst after each chunk when it
does not). A remainder under 0.5 s discarded at stop is never transcribed and has no line. Ideal
mode writes each 100 ms step when it is taken from the queue. Callers pass the spans
(``processed_spans``), or tag a chunk with the bytes still queued behind it (``ProcessedAudio``);
untagged chunks are recorded in the WAV only.

WAVs are 16 kHz mono int16, written incrementally: the header's sizes are patched on close, and data
is flushed about once a second, so a connection killed mid-way still leaves a readable file;
``read_recording`` trusts the file length over a header that was never finalised.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
HEADER_BYTES = 44
FLUSH_BYTES = 32_000  # flush to the OS about once a second of audio
META_FILE = "connection.json"
PROVENANCE_SUFFIX = ".processed.jsonl"


class ProcessedAudio(bytes):
    """A chunk the recognizer consumed, tagged with ``queued_after``: how many bytes of the same
    source were still queued behind it when it was taken (what places it in the received stream)."""

    queued_after: int

    def __new__(cls, pcm: bytes, queued_after: int) -> ProcessedAudio:
        chunk = super().__new__(cls, pcm)
        chunk.queued_after = queued_after
        return chunk


@dataclass(frozen=True, slots=True)
class ProcessedRange:
    """One provenance line: bytes ``[start, end)`` of the received stream, consumed at monotonic ``t``;
    ``cut``: when the recognizer started on the chunk it belongs to (faithful mode), else None."""

    start: int
    end: int
    t: float
    cut: float | None = None


_PLAIN_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
NAME_PREFIX_CHARS = 48


def safe_name(text: str) -> str:
    """The file name for a client-supplied id: injective, file-system safe, at most 66 characters.

    Short lower-case ids of ``[a-z0-9._-]`` (uuids, "mic") are used as they are. Any other id becomes
    a readable prefix (unsafe characters as ``_``) + ``~`` + 16 hex digits of its SHA-256. ``~`` never
    occurs in a name used as is, so the two kinds cannot meet, and ids differing only in case get
    different hashes, so they stay apart on case-insensitive file systems too.
    """
    if _PLAIN_NAME.fullmatch(text):
        return text
    prefix = _UNSAFE_CHARS.sub("_", text)[:NAME_PREFIX_CHARS].lstrip("-.").rstrip(".")
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{prefix}~{digest}"


def _header(data_bytes: int) -> bytes:
    return b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE" + b"fmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16
    ) + b"data" + struct.pack("<I", data_bytes)


class WavWriter:
    """Appends PCM to a WAV whose header is finalised by ``close()``."""

    def __init__(self, path: Path) -> None:
        self._file: BinaryIO = path.open("wb")
        self._file.write(_header(0))
        self._data_bytes = 0
        self._unflushed = 0

    def write(self, pcm: bytes) -> None:
        self._file.write(pcm)
        self._data_bytes += len(pcm)
        self._unflushed += len(pcm)
        if self._unflushed >= FLUSH_BYTES:
            self._file.flush()
            self._unflushed = 0

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.seek(0)
        self._file.write(_header(self._data_bytes))
        self._file.close()


class ConnectionRecorder:
    """The recordings of one connection; a no-op when ``record_dir`` is None."""

    def __init__(self, record_dir: Path | None, session_id: str, connection_id: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._dir: Path | None = None
        self._writers: dict[str, WavWriter] = {}
        self._logs: dict[str, TextIO] = {}
        self._received: dict[str, int] = {}  # bytes received per source: the end of its received stream
        self._clock = clock
        self._closed = False
        if record_dir is None:
            return
        base = Path(record_dir) / safe_name(session_id)
        folder = base / safe_name(connection_id)
        suffix = 2
        while folder.exists():  # a reused connection id must not overwrite an earlier recording
            folder = base / f"{safe_name(connection_id)}-{suffix}"
            suffix += 1
        folder.mkdir(parents=True)
        meta = {"session_id": session_id, "connection_id": connection_id, "started_ns": time.time_ns()}
        (folder / META_FILE).write_text(json.dumps(meta))
        self._dir = folder

    @property
    def folder(self) -> Path | None:
        return self._dir

    def received_paths(self) -> dict[str, str]:
        """Where each source's received audio is recorded (empty when not recording)."""
        if self._dir is None:
            return {}
        return {source: str(self._dir / f"{safe_name(source)}.wav") for source in self._received}

    def received(self, source: str, pcm: bytes) -> None:
        self._received[source] = self._received.get(source, 0) + len(pcm)
        self._write(f"{safe_name(source)}.wav", pcm)

    def processed(self, source: str, pcm: bytes) -> None:
        """Record consumed audio; a ``ProcessedAudio`` chunk also gets its provenance line."""
        self._write(f"{safe_name(source)}.processed.wav", pcm)
        queued_after = getattr(pcm, "queued_after", None)
        if isinstance(queued_after, int):
            end = self._received.get(source, 0) - queued_after
            self._log(source, end - len(pcm), end)

    def processed_spans(self, source: str, pcm: bytes, spans: Iterable[tuple[int, int, float]],
                        cut: float | None = None) -> None:
        """Record consumed audio made of these ``(start, end, t)`` spans of the received stream."""
        self._write(f"{safe_name(source)}.processed.wav", pcm)
        extra = {} if cut is None else {"cut": round(cut, 6)}
        self._log_lines(source, [{"start": s, "end": e, "t": round(t, 6), **extra} for s, e, t in spans])

    def close(self) -> None:
        """Finalise every file; later writes are ignored (they would otherwise restart a file)."""
        self._closed = True
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        for log in self._logs.values():
            log.close()
        self._logs.clear()

    def _log(self, source: str, start: int, end: int) -> None:
        if start >= 0:
            self._log_lines(source, [{"start": start, "end": end, "t": round(self._clock(), 6)}])

    def _log_lines(self, source: str, lines: list[dict[str, float]]) -> None:
        if self._dir is None or self._closed or not lines:
            return
        log = self._logs.get(source)
        if log is None:  # line-buffered: one write per chunk or step
            log = self._logs[source] = (self._dir / f"{safe_name(source)}{PROVENANCE_SUFFIX}").open(
                "w", encoding="utf-8", buffering=1)
        log.write("".join(json.dumps(line) + "\n" for line in lines))

    def _write(self, name: str, pcm: bytes) -> None:
        if self._dir is None or self._closed:
            return
        writer = self._writers.get(name)
        if writer is None:
            writer = self._writers[name] = WavWriter(self._dir / name)
        writer.write(pcm)


def read_wav(path: Path) -> npt.NDArray[np.int16]:
    """Read a 16 kHz mono int16 WAV, tolerating a data size that was never finalised."""
    raw = path.read_bytes()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path} is not a WAV file")
    pos, fmt_ok = 12, False
    while pos + 8 <= len(raw):
        chunk_id, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", raw[body : body + 16])
            fmt_ok = (tag, channels, rate, bits) == (1, 1, SAMPLE_RATE, 16)
        elif chunk_id == b"data":
            if not fmt_ok:
                raise ValueError(f"{path} is not 16 kHz mono 16-bit PCM")
            end = len(raw) if size == 0 or body + size > len(raw) else body + size
            end -= (end - body) % 2
            return np.frombuffer(raw[body:end], dtype=np.int16).copy()
        pos = body + size + (size % 2)
    raise ValueError(f"{path} has no data chunk")


def connection_folders(record_dir: Path, session_id: str) -> list[Path]:
    """A session's connection folders, oldest first."""
    base = Path(record_dir) / safe_name(session_id)
    if not base.is_dir():
        raise FileNotFoundError(f"No recording for session {session_id!r} under {record_dir}")

    def started(folder: Path) -> int:
        try:
            return int(json.loads((folder / META_FILE).read_text())["started_ns"])
        except (OSError, ValueError, KeyError, TypeError):
            return folder.stat().st_mtime_ns

    return sorted((p for p in base.iterdir() if p.is_dir()), key=started)


def read_recording(
    record_dir: Path | str, session_id: str, source: str, processed: bool = False
) -> npt.NDArray[np.int16]:
    """A session's audio for one source, all its connections concatenated in order.

    ``processed=False``: what the clients sent; ``True``: what the recognizer consumed.
    Raises ``FileNotFoundError`` if the session was never recorded; a source never heard is empty.
    """
    name = f"{safe_name(source)}.processed.wav" if processed else f"{safe_name(source)}.wav"
    parts = [read_wav(folder / name) for folder in connection_folders(Path(record_dir), session_id)
             if (folder / name).is_file()]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def read_provenance(folder: Path, source: str) -> list[ProcessedRange]:
    """One connection's provenance lines for ``source`` (empty if none), tolerating a cut-off last line."""
    path = Path(folder) / f"{safe_name(source)}{PROVENANCE_SUFFIX}"
    if not path.is_file():
        return []
    out: list[ProcessedRange] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
            cut = item.get("cut")
            out.append(ProcessedRange(int(item["start"]), int(item["end"]), float(item["t"]),
                                      None if cut is None else float(cut)))
        except (ValueError, KeyError, TypeError):
            continue  # a line cut off by a killed process
    return out
