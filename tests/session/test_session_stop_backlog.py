"""Stopping and toggling while adaptive throttling holds a backlog, against a slow simulated backend
(RTF 3: the backend needs 3 s per second of audio, so throttling holds what it cannot take)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sessionkit import Run, bursts, run_session, session_config, wait_for, write_wav

from app.backend import BackendConfig, ReferenceBackend
from app.backend.recording import read_recording
from app.capture.replay import ReplaySource
from app.core.messages import FRAME_SECONDS, Source
from app.core.session_state import SessionEnded, SessionWarning, StopOutcome

SLOW = {"host": "127.0.0.1", "port": 0, "recognizer": "simulated", "rtf": 3.0}


def speechy(tmp_path: Path) -> dict[Source, Path]:
    """30 s per source of tone bursts with gaps shorter than the VAD's hangover: all of it counts as
    speech, so throttling holds it instead of skipping it as silence."""
    return {src: write_wav(tmp_path / f"{src.value}.wav",
                           bursts(30.0, freq, on=0.8, off=0.15, seed=seed)[0])
            for src, freq, seed in ((Source.SYSTEM, 220.0, 21), (Source.MIC, 330.0, 22))}


def held_frames(run: Run) -> int:
    return sum(c.buffered_frames for c in run.session.snapshot().sources.values())


def shed_frames(run: Run) -> int:
    return sum(c.shed_frames for c in run.session.snapshot().sources.values())


def assert_every_frame_accounted_for(ended: SessionEnded) -> None:
    for src, c in ended.sources.items():
        total = c.sent_frames + c.dropped_frames + c.shed_frames + c.skipped_frames + c.buffered_frames
        assert c.captured_frames == total, (src, c)


async def test_stop_with_a_held_backlog_still_gets_the_summary_and_reports_what_was_not_sent(
    tmp_path: Path, record_dir: Path
) -> None:
    files = speechy(tmp_path)
    at_stop: dict[str, int] = {}

    async def stop_while_holding(run: Run) -> None:
        await wait_for(lambda: held_frames(run) >= 250)  # about 2.5 s held per source
        at_stop["held"] = held_frames(run)
        at_stop["sent"] = sum(c.sent_frames for c in run.session.snapshot().sources.values())
        run.session.request_stop()

    # The flush goes at the backend's pace: at RTF 3 it takes 6 s per 2 s chunk, so 8 s send about one
    # more chunk of the 2.5 s+ held per source, and then the flush must give up the rest
    async with ReferenceBackend(BackendConfig(**SLOW, record_dir=record_dir)) as backend:
        config = session_config(backend.ws_url, throttle=True, flush_timeout=8.0, summary_timeout=30.0)
        run = await run_session(config, [ReplaySource(s, p) for s, p in files.items()],
                                during=stop_while_holding, timeout=90)
    ended = run.ended
    assert ended is not None
    # the client closed nothing itself: stop was sent and the backend summarised what it got
    assert ended.outcome is StopOutcome.SUMMARY, ended.message
    assert run.session.snapshot().summary_markdown
    assert ended.message.startswith("Stopped before all held audio was sent:"), ended.message
    assert any(w.message == ended.message for w in run.of(SessionWarning))
    # the held audio went into the send path: the flush sent some of it before the budget ran out
    sent = sum(c.sent_frames for c in ended.sources.values())
    assert sent > at_stop["sent"]
    # what was not sent is counted per source, and the message says exactly that much
    unsent = {src: c.buffered_frames for src, c in ended.sources.items()}
    assert all(n > 0 for n in unsent.values()), unsent
    stated = float(ended.message.split(": ", 1)[1].split(" s not sent")[0])
    assert stated == pytest.approx(sum(unsent.values()) * FRAME_SECONDS, abs=0.051)
    assert_every_frame_accounted_for(ended)
    # every frame given up is located as a loss, and nothing was dropped by the server
    for src, c in ended.sources.items():
        losses = ended.losses[src.value]
        given_up = (c.buffered_frames + c.shed_frames) * FRAME_SECONDS
        assert losses.client_shed_seconds == pytest.approx(given_up, abs=0.05)
        assert losses.server_dropped_seconds == 0.0
    # and what the client says it sent is what the backend received, frame for frame
    for src, c in ended.sources.items():
        received = read_recording(record_dir, run.session.session_id, src.value)
        assert received.size == c.sent_frames * 320


async def test_switching_throttling_off_with_a_held_backlog_loses_nothing_and_goes_live(
    tmp_path: Path,
) -> None:
    files = speechy(tmp_path)
    seen: dict[str, object] = {}

    async def toggle_off_then_stop(run: Run) -> None:
        await wait_for(lambda: held_frames(run) >= 300, timeout=30)
        seen["before"] = run.session.snapshot().sources
        run.session.set_throttle(False)
        seen["after"] = run.session.snapshot().sources
        await asyncio.sleep(3.0)  # off: live audio goes at real time, whatever the backend can take
        seen["later"] = run.session.snapshot().sources
        run.session.request_stop()

    async with ReferenceBackend(BackendConfig(**SLOW)) as backend:
        config = session_config(backend.ws_url, throttle=True, flush_timeout=2.0)
        run = await run_session(config, [ReplaySource(s, p) for s, p in files.items()],
                                during=toggle_off_then_stop, timeout=90)
    ended = run.ended
    assert ended is not None and ended.outcome is StopOutcome.SUMMARY, ended.message
    before, after, later = seen["before"], seen["after"], seen["later"]
    assert isinstance(before, dict) and isinstance(after, dict) and isinstance(later, dict)
    for src in Source:
        # the switch itself moved nothing and lost nothing
        assert after[src] == before[src]
        # off, the live audio went out at real time (3 s: at least 2 s of it, on a busy machine)
        assert later[src].sent_frames - after[src].sent_frames >= 100, (before[src], later[src])
    assert not run.session.throttle
    assert_every_frame_accounted_for(ended)
