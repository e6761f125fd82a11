"""Reconnect against the reference backend: killed mid-session, restarted on the SAME port."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sessionkit import Run, bursts, run_session, session_config, wait_for, write_wav

from app.backend import BackendConfig, ReferenceBackend
from app.backend.recording import connection_folders, read_recording
from app.capture.replay import ReplaySource
from app.core.messages import Source
from app.core.session_state import (
    Reconnecting,
    ServerStatus,
    StopOutcome,
)

BURST_ON, BURST_OFF, LEAD = 0.6, 0.4, 0.3


async def test_session_survives_a_backend_restart_and_keeps_the_rebased_transcript(tmp_path: Path) -> None:
    record_dir = tmp_path / "rec"
    signal, starts = bursts(9.0, 440.0, on=BURST_ON, off=BURST_OFF, lead=LEAD, seed=5)
    path = write_wav(tmp_path / "speech.wav", signal)
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", rtf=0.2, record_dir=record_dir)
    first = ReferenceBackend(config)
    await first.start()
    port = first.port
    url = first.ws_url
    second: list[ReferenceBackend] = []
    first_segments = 0

    async def kill_and_restart(run: Run) -> None:
        nonlocal first_segments
        # kill once the first connection has produced two finals
        await wait_for(lambda: sum(s.is_final for s in run.session.snapshot().transcript) >= 2)
        first_segments = sum(s.is_final for s in run.session.snapshot().transcript)
        await first.stop()
        await wait_for(lambda: bool(run.of(Reconnecting)))
        await asyncio.sleep(1.0)  # a real gap: audio keeps being captured into the client buffer
        restarted = ReferenceBackend(BackendConfig(host="127.0.0.1", port=port, recognizer="simulated",
                                                   rtf=0.2, record_dir=record_dir))
        await restarted.start()
        second.append(restarted)

    try:
        run = await run_session(session_config(url), [ReplaySource(Source.SYSTEM, path)],
                                during=kill_and_restart)
    finally:
        await first.stop()
        for backend in second:
            await backend.stop()

    assert run.ended is not None
    assert run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    # one lost connection, however many attempts the restart took (it counted attempts: 12 for one
    # outage on the real server)
    assert run.ended.reconnects == 1 and len(run.of(Reconnecting)) >= 1, len(run.of(Reconnecting))
    counters = run.ended.sources[Source.SYSTEM]
    assert counters.dropped_frames == 0 and counters.captured_frames == counters.sent_frames

    # same session_id, a new connection_id: two recording folders under the one session
    acks = [e.status for e in run.of(ServerStatus) if e.status.state == "streaming"]
    connection_ids = {a.ids.connection_id for a in acks}
    assert len(connection_ids) == 2
    assert {a.ids.session_id for a in acks} == {run.session.session_id}
    assert len(connection_folders(record_dir, run.session.session_id)) == 2

    # the transcript kept the first connection's finals and merged the second's summary
    finals = [s for s in run.session.snapshot().transcript if s.is_final]
    by_connection = {s.connection_index for s in finals}
    assert by_connection == {0, 1}
    assert sum(s.connection_index == 0 for s in finals) >= first_segments
    assert run.session.snapshot().summary_markdown

    # rebased times: every final starts at a burst start (+ one constant capture offset), in order,
    # although the second connection's server times restarted at 0
    offset = finals[0].t0 - starts[0]
    for seg in finals:  # a burst crossing a 2 s chunk boundary comes as two finals: one edge is real
        nearest = min(starts, key=lambda s: abs(s + offset - seg.t0))
        nearest_end = min(starts, key=lambda s: abs(s + BURST_ON + offset - seg.t1)) + BURST_ON
        assert abs(nearest + offset - seg.t0) < 0.1 or abs(nearest_end + offset - seg.t1) < 0.1, (seg, offset)
    assert [s.t0 for s in finals] == sorted(s.t0 for s in finals)
    assert max(s.t0 for s in finals if s.connection_index == 1) > starts[3] + offset

    # the backend received every frame after the reconnect (the gap was buffered, not lost)
    received = read_recording(record_dir, run.session.session_id, "system")
    assert received.size >= counters.sent_frames * 320 - 5 * 320  # at most in-flight frames at the kill
