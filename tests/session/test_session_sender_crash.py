"""A bug in the send path ends the session with an error instead of leaving it "streaming" with
nothing sent (issue 10). The bug is injected (correct code has none to trigger)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sessionkit import bursts, run_session, session_config, write_wav

from app.backend import ReferenceBackend
from app.capture.replay import ReplaySource
from app.core.messages import Source
from app.core.session_state import ConnectionState, SessionFailed, StateChanged, StopOutcome
from app.transport.connection import LiveConnection


async def test_a_crashed_sender_ends_the_session_with_an_error(
    backend: ReferenceBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a minute of audio: a session that kept "streaming" after the crash would outlast the timeout
    wav = write_wav(tmp_path / "mic.wav", bursts(60.0, 330.0, seed=3)[0])
    real_send = LiveConnection.send_audio_many
    calls = 0

    async def broken(self: LiveConnection, frames: object) -> None:
        nonlocal calls
        calls += 1
        if calls > 5:  # a few ticks' batches went out first
            raise ValueError("injected bug in the send path")
        await real_send(self, frames)  # type: ignore[arg-type]

    monkeypatch.setattr(LiveConnection, "send_audio_many", broken)
    run = await run_session(session_config(backend.ws_url), [ReplaySource(Source.MIC, wav)], timeout=30)
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    assert "Internal error" in run.ended.message and "injected bug" in run.ended.message
    assert run.of(SessionFailed)
    assert run.of(StateChanged)[-1].state is ConnectionState.FAILED
