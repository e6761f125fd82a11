"""A backend that stalls mid-overload (its process stopped with SIGSTOP, sockets open) and resumes,
against the faithful reference backend as a process, over loopback: with throttling on, what the
client wrote into the stopped server's socket must not make it drop anything once it resumes (the
recognizer is still slow then), and every loss the session reports must be a real one."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sessionkit import Run, bursts, run_session, session_config, wait_for, write_wav
from testkit import launch_backend

from app.capture.replay import ReplaySource
from app.core.messages import Source
from app.core.session_state import ServerMetrics, StopOutcome, TranscriptChanged

pytestmark = pytest.mark.slow

SECONDS = 22.0
STALL_AT, STALL_SECONDS = 7.0, 6.0  # session seconds; the recognizer is at RTF 1.6 from 4 to 16 s




async def test_throttled_a_stall_in_an_overload_loses_nothing_after_the_resume(tmp_path: Path) -> None:
    system, _ = bursts(SECONDS, 440.0, on=1.6, off=0.4, seed=1)
    mic, _ = bursts(SECONDS, 660.0, on=1.6, off=0.4, seed=2, lead=0.5)
    files = {Source.SYSTEM: write_wav(tmp_path / "system.wav", system),
             Source.MIC: write_wav(tmp_path / "mic.wav", mic)}
    proc, url = launch_backend("--rtf", "0.25", "--schedule", "1.6@4,0.25@16")
    stopped = False

    async def stall(run: Run) -> None:
        nonlocal stopped
        await wait_for(lambda: run.session.snapshot().elapsed_seconds >= STALL_AT, timeout=30)
        # right after a final: the recognizer has just pulled, and what the client writes while the
        # server is stopped completes its next chunk (the case the client used to get wrong)
        finals = len(run.of(TranscriptChanged))
        await wait_for(lambda: len(run.of(TranscriptChanged)) > finals, timeout=30, step=0.005)
        proc.send_signal(signal.SIGSTOP)
        stopped = True
        await asyncio.sleep(STALL_SECONDS)  # the stall itself: wall time is the point
        proc.send_signal(signal.SIGCONT)
        stopped = False

    try:
        run = await run_session(session_config(url, throttle=True),
                                [ReplaySource(s, p) for s, p in files.items()], during=stall, timeout=90)
    finally:
        if stopped:
            proc.send_signal(signal.SIGCONT)
        proc.kill()
        proc.wait(timeout=10)

    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended
    assert run.ended.reconnects == 0
    dropped_total = [e.metrics.dropped_total for e in run.of(ServerMetrics) if e.metrics.dropped_total]
    assert dropped_total == [], "the backend dropped audio"
    for source, losses in run.ended.losses.items():
        assert losses.server_dropped_seconds == 0, (source, losses)
    for counters in run.ended.sources.values():
        # everything was held, then sent (silence skipped while behind)
        assert counters.sent_frames + counters.skipped_frames == counters.captured_frames
