"""Recordings: incremental WAVs that survive a kill, and reading a session back across connections."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from app.backend.recording import ConnectionRecorder, WavWriter, read_recording, read_wav, safe_name


def pcm(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(-3000, 3000, n, dtype=np.int16).tobytes()


def test_a_closed_wav_is_standard(tmp_path: Path) -> None:
    data = pcm(16000, 1)
    writer = WavWriter(tmp_path / "a.wav")
    for i in range(0, len(data), 640):
        writer.write(data[i : i + 640])
    writer.close()
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (16000, 1, 2, 16000)
        assert w.readframes(16000) == data


def test_an_unfinalised_wav_is_still_readable(tmp_path: Path) -> None:
    """What a killed process leaves: header sizes never patched, data flushed about once a second."""
    data = pcm(40000, 2)  # 2.5 s
    writer = WavWriter(tmp_path / "b.wav")
    writer.write(data)  # flushed (more than a second) but never closed
    got = read_wav(tmp_path / "b.wav")
    assert got.tobytes() == data
    writer.close()


def test_read_wav_rejects_other_formats(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "c.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(bytes(400))
    with pytest.raises(ValueError, match="16 kHz mono"):
        read_wav(tmp_path / "c.wav")


def test_session_recording_concatenates_connections_in_order(tmp_path: Path) -> None:
    parts = [pcm(3200, 3), pcm(4800, 4)]
    for conn, part in zip(("zz-first", "aa-second"), parts, strict=True):  # names sort the wrong way
        rec = ConnectionRecorder(tmp_path, "sess/../1", conn)
        rec.received("mic", part)
        rec.processed("mic", part[:640])
        rec.close()
    assert read_recording(tmp_path, "sess/../1", "mic").tobytes() == parts[0] + parts[1]
    assert read_recording(tmp_path, "sess/../1", "mic", processed=True).tobytes() == (
        parts[0][:640] + parts[1][:640]
    )
    assert read_recording(tmp_path, "sess/../1", "system").size == 0
    [folder] = tmp_path.iterdir()  # stays inside record_dir
    assert folder.name.startswith("sess_.._1~")


def test_unknown_session_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_recording(tmp_path, "nope", "mic")


def test_safe_name_keeps_plain_ids_and_never_escapes() -> None:
    uuid = "2b4ce2f5-dcdb-442a-b626-8dd928b360e8"
    assert safe_name(uuid) == uuid and safe_name("mic") == "mic"
    for unsafe in ("..", ".", "", "a/b\\c", "../../etc", "x" * 300, "-rf", ".hidden"):
        name = safe_name(unsafe)
        assert "/" not in name and "\\" not in name and name.strip(".") and len(name) <= 66
        assert not name.startswith(("-", "."))


@pytest.mark.parametrize("a, b", [("sess/../1", "sess_.._1"), ("a/b", "a_b"), ("Sess", "sess"),
                                  ("x" * 100, "x" * 101), ("a b", "a_b~"), ("mic", "MIC")])
def test_distinct_ids_never_share_a_name(a: str, b: str) -> None:
    assert safe_name(a) != safe_name(b)
    assert safe_name(a).lower() != safe_name(b).lower()  # apart on case-insensitive file systems too


def test_distinct_session_ids_never_share_a_record_folder(tmp_path: Path) -> None:
    """Before names were injective, "sess/../1" and "sess_.._1" both became "sess_.._1": the second
    session's connections were read back as part of the first one's recording."""
    parts = {"sess/../1": pcm(3200, 5), "sess_.._1": pcm(1600, 6)}
    for session_id, part in parts.items():
        rec = ConnectionRecorder(tmp_path, session_id, "conn")
        rec.received("mic", part)
        rec.close()
    for session_id, part in parts.items():
        assert read_recording(tmp_path, session_id, "mic").tobytes() == part
    assert len(list(tmp_path.iterdir())) == 2
