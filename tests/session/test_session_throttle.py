"""Adaptive throttling inside a session: announced in client_features, toggled live, no frame unaccounted."""

from __future__ import annotations

from pathlib import Path

from sessionkit import Run, bursts, run_session, session_config, wait_for, write_wav

from app.backend import BackendConfig, ReferenceBackend
from app.capture.replay import ReplaySource
from app.core.messages import Source
from app.core.session_state import ServerStatus, StopOutcome


async def test_throttle_toggles_live_and_every_frame_is_accounted_for(tmp_path: Path) -> None:
    # an overload episode from 2 s on, so the policy has something to do while it is on
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", rtf=0.3,
                           schedule=((0.5, 3.0), (7.0, 0.3)))
    files = {Source.SYSTEM: write_wav(tmp_path / "s.wav", bursts(10.0, 440.0, seed=11)[0]),
             Source.MIC: write_wav(tmp_path / "m.wav", bursts(10.0, 660.0, seed=12)[0])}
    toggles: list[bool] = []

    async def toggle(run: Run) -> None:
        await wait_for(lambda: run.session.snapshot().sources[Source.MIC].sent_frames > 300)
        run.session.set_throttle(False)
        toggles.append(run.session.throttle)
        await wait_for(lambda: run.session.snapshot().sources[Source.MIC].sent_frames > 350)
        run.session.set_throttle(True)
        toggles.append(run.session.throttle)

    async with ReferenceBackend(config) as backend:
        sources = [ReplaySource(src, path) for src, path in files.items()]
        run = await run_session(session_config(backend.ws_url, throttle=True), sources, during=toggle)
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    assert toggles == [False, True]
    ack = next(e.status for e in run.of(ServerStatus) if e.status.state == "streaming")
    assert ack.client_features is not None and ack.client_features.get("client_vad_enabled") is True
    for src in (Source.SYSTEM, Source.MIC):
        c = run.ended.sources[src]
        assert c.buffered_frames == 0
        # conservation: every captured frame was sent, skipped as silence, or dropped/shed (and counted)
        assert c.captured_frames == c.sent_frames + c.skipped_frames + c.dropped_frames + c.shed_frames, c
        assert c.captured_frames == 500
    # the overload made the policy skip silence while it was on: it really was in the path
    assert sum(run.ended.sources[src].skipped_frames for src in Source) > 0
