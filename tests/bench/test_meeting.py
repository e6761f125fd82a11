"""The benchmark meeting: exact length, known speech intervals that match the audio, cached, unique frames."""

from __future__ import annotations

import itertools
import json
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from app.bench.meeting import RATE, Meeting, MeetingSpec, load_meeting
from app.bench.overload_analysis import merge, total
from app.core.messages import Source


def samples(path: Path) -> npt.NDArray[np.int16]:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def frame_rms(x: npt.NDArray[np.int16], start: float, end: float) -> float:
    part = x[int(start * RATE) : int(end * RATE)].astype(np.float64)
    return float(np.sqrt((part * part).mean())) if part.size else 0.0


@pytest.fixture(scope="module")
def meeting(tmp_path_factory: pytest.TempPathFactory) -> Meeting:
    return load_meeting(MeetingSpec(seconds=20.0, seed=3), tmp_path_factory.mktemp("cache"))


def test_files_are_exactly_the_meeting_long_and_speech_is_where_the_intervals_say(meeting: Meeting) -> None:
    for source in (Source.SYSTEM, Source.MIC):
        x = samples(meeting.files[source])
        assert x.size == 20 * RATE
        speech = meeting.speech[source]
        assert speech == tuple(merge(speech, gap=0.149)), "sorted, disjoint, pauses under 150 ms merged"
        assert 2.0 < total(speech) < 16.0
        silence = [(a[1], b[0]) for a, b in itertools.pairwise(speech)]
        assert all(frame_rms(x, a, b) < 10 for a, b in silence if b - a > 0.1)  # only the dither
        assert all(frame_rms(x, a, b) > 300 for a, b in speech if b - a > 0.1)  # clearly audible


def test_every_frame_is_unique_so_received_audio_can_be_traced(meeting: Meeting) -> None:
    for source in (Source.SYSTEM, Source.MIC):
        raw = samples(meeting.files[source]).tobytes()
        frames = {raw[k : k + 640] for k in range(0, len(raw), 640)}
        assert len(frames) == len(raw) // 640


def test_both_sources_talk_and_sometimes_at_once(tmp_path: Path) -> None:
    m = load_meeting(MeetingSpec(seconds=120.0, seed=7), tmp_path)
    turns = json.loads((m.files[Source.MIC].parent / "meeting.json").read_text())["turns"]
    assert {t["source"] for t in turns} == {"system", "mic"}
    overlaps = [(a, b) for a, b in itertools.pairwise(turns)
                if a["source"] != b["source"] and b["start"] < a["end"]]
    assert overlaps, "the seed-7 meeting has overlapping turns"


def test_a_cached_meeting_is_reused_and_generation_is_deterministic(meeting: Meeting, tmp_path: Path) -> None:
    stamp = meeting.files[Source.MIC].stat().st_mtime_ns
    again = load_meeting(meeting.spec, meeting.files[Source.MIC].parent.parent)
    assert again.files == meeting.files and meeting.files[Source.MIC].stat().st_mtime_ns == stamp
    fresh = load_meeting(meeting.spec, tmp_path)  # another cache: generated anew, identical
    assert fresh.files[Source.MIC].read_bytes() == meeting.files[Source.MIC].read_bytes()
    assert fresh.speech == meeting.speech
