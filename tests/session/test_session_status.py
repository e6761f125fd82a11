"""The status light over real sockets against the faithful reference backend: no false amber when the
degrade ladder speaks up in a healthy session; amber (behind, nothing lost) with throttling on and red
(losing, located) with it off during an overload; every loss counted as the backend counted it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sessionkit import Run, bursts, run_session, session_config, write_wav

from app.backend import BackendConfig, ReferenceBackend
from app.capture.replay import ReplaySource
from app.core.level import Level
from app.core.losses import LossCause
from app.core.messages import Source
from app.core.session_state import LevelChanged, ServerStatus, StatusChanged, StopOutcome
from app.core.status import Light

pytestmark = pytest.mark.slow


def speech(tmp_path: Path, seconds: float) -> list[ReplaySource]:
    """Tone bursts with short gaps: all of it is speech to the VAD (nothing to skip)."""
    return [ReplaySource(src, write_wav(tmp_path / f"{src.value}.wav",
                                        bursts(seconds, freq, on=0.8, off=0.15, seed=seed)[0]))
            for src, freq, seed in ((Source.SYSTEM, 220.0, 31), (Source.MIC, 330.0, 32))]


def lights(run: Run) -> list[Light]:
    return [e.report.light for e in run.of(StatusChanged)]


@pytest.mark.parametrize("finals", ["regions", "chunks"])  # chunks: as the real server was measured
async def test_a_healthy_session_stays_green_through_the_degrade_ladders_buffering(tmp_path: Path,
                                                                                   finals: str) -> None:
    async with ReferenceBackend(BackendConfig(host="127.0.0.1", port=0, recognizer="simulated",
                                              rtf=0.3, finals=finals)) as backend:
        run = await run_session(session_config(backend.ws_url), speech(tmp_path, 15.0), timeout=60)
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    ladder = [e.status for e in run.of(ServerStatus) if e.status.degrade_level and not e.status.source]
    assert ladder, "the backend's degrade ladder said nothing: the test proves nothing"
    assert Light.LIVE in lights(run)
    assert not {Light.BEHIND, Light.LOSING} & set(lights(run)), lights(run)
    assert not [e for e in run.of(LevelChanged) if e.report.level.severity > 0]


async def overloaded(tmp_path: Path, throttle: bool) -> Run:
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", rtf=0.3,
                           schedule=((4.0, 1.8), (14.0, 0.3)))
    folder = tmp_path / ("on" if throttle else "off")
    folder.mkdir()
    async with ReferenceBackend(config) as backend:
        return await run_session(session_config(backend.ws_url, throttle=throttle, flush_timeout=60.0),
                                 speech(folder, 24.0), timeout=120)


async def test_an_overload_is_amber_with_throttling_and_red_without(tmp_path: Path) -> None:
    on, off = await asyncio.gather(overloaded(tmp_path, True), overloaded(tmp_path, False))
    for run in (on, off):
        assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
        assert lights(run)[-1] in (Light.IDLE, Light.LIVE)  # recovered, then stopped
        assert run.session.snapshot().status.server_level is Level.IDLE
    assert on.ended is not None and off.ended is not None
    # throttling on: behind, never losing; the backend dropped nothing
    assert Light.BEHIND in lights(on) and Light.LOSING not in lights(on), lights(on)
    assert on.ended.server_dropped_frames == 0
    assert sum(lost.server_dropped_seconds for lost in on.ended.losses.values()) == 0.0
    behind = [e.report for e in on.of(StatusChanged) if e.report.light is Light.BEHIND]
    assert any("behind" in r.headline or "Falling" in r.headline for r in behind)
    # throttling off: losing, and what the client reports is what the backend counted (20 ms each)
    assert Light.LOSING in lights(off), lights(off)
    reported = sum(lost.server_dropped_seconds for lost in off.ended.losses.values())
    assert off.ended.server_dropped_frames > 50
    assert reported == pytest.approx(off.ended.server_dropped_frames * 0.02, rel=0.2)
    spans = [s for lost in off.ended.losses.values() for s in lost.spans if s.cause is LossCause.SERVER_DROP]
    assert spans and all(0 <= s.start < s.end <= off.ended.t + 0.1 for s in spans)
