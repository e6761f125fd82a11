"""The degrade ladder in a healthy session of speech with pauses, as the real server was measured
(issue 12: `buffering` without `source` at about 10.6 s, every queue near empty) when its recognizer
reports a final for every chunk (``finals="chunks"``, the measured stub's way); and why the default
simulated recognizer (finals only for speech, as real Whisper providers) differs there: the real
server's ladder is fed the wall time between two finals over the audio the later one covers, so a pause
with no final makes that ratio large (``overloaded`` EMERGENCY, still without `source`).

One session per mode, concurrently, about 13 s.
"""

from __future__ import annotations

import asyncio

import pytest
from backend_wsclient import silence, tone
from fidelity_drive import Recorded, drive

from app.backend import BackendConfig, ReferenceBackend
from app.backend.recognizers import SimulatedRecognizer

# 1.2 s of speech, 2.8 s of pause: every other chunk of each source is silent
AUDIO = {"system": tone(1.2, 440.0) + silence(2.8), "mic": silence(2.0) + tone(1.2, 660.0) + silence(0.8)}
SECONDS = 12.0


async def _record(finals: str) -> Recorded:
    async with ReferenceBackend(BackendConfig(port=0, recognizer="simulated", rtf=0.3,
                                              finals=finals)) as backend:
        return await drive(backend.ws_url, SECONDS, AUDIO)


@pytest.fixture(scope="module")
def runs() -> dict[str, Recorded]:
    async def both() -> list[Recorded]:
        return await asyncio.gather(_record("chunks"), _record("regions"))

    chunks, regions = asyncio.run(both())
    return {"chunks": chunks, "regions": regions}


def ladder(run: Recorded) -> list[tuple[float, dict[str, object]]]:
    return [(t, m) for t, m in run.statuses() if "degrade_level" in m]


def test_with_a_final_per_chunk_a_healthy_session_gets_buffering_at_about_ten_seconds(runs) -> None:
    """As the real server measured (issue 12, case a): a final every 2 s for 2 s of audio, silent
    chunks too; the ladder moves at the 5th final to WARNING or DEGRADE, `buffering`, no source."""
    run = runs["chunks"]
    for source in AUDIO:
        finals = run.finals(source)
        assert [(m["t0"], m["t1"]) for _, m in finals[:5]] == [(2.0 * k, 2.0 * k + 2) for k in range(5)]
    (t, first), *_ = ladder(run)
    assert 9.0 <= t <= 12.5, t
    assert first["state"] == "buffering" and first["degrade_level"] in ("WARNING", "DEGRADE")
    assert "source" not in first
    assert not run.statuses("overloaded") and not run.statuses("backpressure")
    assert all(float(m["queue_fill_ratio"]) < 0.1 for _, m in run.metrics())


def test_with_finals_only_for_speech_the_pauses_count_as_slowness(runs) -> None:
    """The default: no final for a silent chunk, so the ladder hears nothing at 10.6 s here (its 5th
    final per source comes at about 18.6 s, with a sample of 4 s between finals over 1.2 s of audio:
    EMERGENCY, `overloaded` without source, as the measured reference run's 14.6 s), and the between-
    finals samples after a pause are far above 1.2 while every queue is near empty."""
    run = runs["regions"]
    for source in AUDIO:
        finals = run.finals(source)
        assert 2 <= len(finals) <= 3  # only the speech: one utterance per 4 s
        (t_a, _), (t_b, b) = finals[:2]
        assert (t_b - t_a) / (b["t1"] - b["t0"]) >= 1.2  # what the ladder would be fed: EMERGENCY
    assert not ladder(run)
    assert all(float(m["queue_fill_ratio"]) < 0.1 for _, m in run.metrics())
    assert not [m for _, m in run.statuses() if "source" in m]


async def test_a_whole_chunk_transcriber_reports_silence_too() -> None:
    transcriber = await SimulatedRecognizer(whole_chunks=True).open_chunk_transcriber()
    finals = await transcriber.transcribe(silence(2.0), 4.0)
    assert [(f.t0, f.t1) for f in finals] == [(4.0, 6.0)]
    assert finals[0].text.startswith("[simulated chunk")
