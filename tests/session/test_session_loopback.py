"""Sessions against the reference backend on a loopback socket: happy path, tail, auth, health."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from sessionkit import Run, run_session, session_config, wait_for
from testkit import frame_signal

from app.backend import BackendConfig, ReferenceBackend
from app.backend.recording import connection_folders, read_recording
from app.capture.replay import ReplaySource
from app.core.framing import Frame
from app.core.messages import Source
from app.core.reconnect import ReconnectPolicy
from app.core.session_state import (
    ConnectionState,
    ServerStatus,
    SessionFailed,
    StateChanged,
    StopOutcome,
    TranscriptChanged,
)
from app.core.settings import AudioEncoding
from app.core.stop_pad import PAD_FRAMES, SILENCE


def wav_samples(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


@pytest.mark.parametrize("encoding", [AudioEncoding.BINARY, AudioEncoding.JSON])
async def test_happy_path_streams_both_sources_and_ends_with_a_summary(
    backend: ReferenceBackend, wavs: dict[Source, Path], record_dir: Path, encoding: AudioEncoding
) -> None:
    sources = [ReplaySource(src, path) for src, path in wavs.items()]
    tapped: list[Frame] = []
    run = await run_session(session_config(backend.ws_url, encoding=encoding), sources, tap=tapped.extend)
    assert run.ended is not None
    assert run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    assert run.ended.reconnects == 0
    states = [e.state for e in run.of(StateChanged)]
    assert states[:3] == [ConnectionState.CHECKING, ConnectionState.CONNECTING, ConnectionState.STREAMING]
    assert states[-1] is ConnectionState.STOPPED
    # the start announced our throttling flag, and the ack came for our connection
    acks = [e.status for e in run.of(ServerStatus) if e.status.state == "streaming"]
    assert acks and acks[0].ids.connection_id
    snap = run.session.snapshot()
    assert snap.summary_markdown
    await backend.stop()  # the backend closes (and flushes) its recordings when the connection ends
    for src, path in wavs.items():
        counters = run.ended.sources[src]
        assert counters.dropped_frames == 0
        assert counters.captured_frames == counters.sent_frames > 0
        # every frame reached the backend, sample-exactly, including the zero-padded tail, and then
        # the stop padding (silence, so the backend's end-of-stream rule cannot drop the last words)
        expected = b"".join(f.pcm for f in frame_signal(wav_samples(path), 16_000, src))
        received = read_recording(record_dir, run.session.session_id, src.value)
        assert counters.padding_frames == PAD_FRAMES
        assert received.tobytes() == expected + SILENCE * PAD_FRAMES
        # the audio tap (a local recording) saw every captured frame, in order
        assert b"".join(f.pcm for f in tapped if f.source is src) == expected
        # the simulated recognizer gives one final per tone burst, for this source
        finals = [s for s in snap.transcript if s.source == src.value and s.is_final]
        assert len(finals) >= 2
        assert all(s.t1 <= 4.0 for s in finals)


async def test_stop_mid_stream_flushes_every_captured_frame_before_stop(
    backend: ReferenceBackend, tmp_path: Path, record_dir: Path
) -> None:
    from sessionkit import bursts, write_wav

    signal, _ = bursts(20.0, 500.0, seed=3)
    path = write_wav(tmp_path / "long.wav", signal)

    async def stop_early(run: object) -> None:
        from sessionkit import Run

        assert isinstance(run, Run)
        await wait_for(lambda: run.session.snapshot().state is ConnectionState.STREAMING)
        await wait_for(lambda: run.session.snapshot().sources[Source.SYSTEM].sent_frames >= 80)
        run.session.request_stop()

    run = await run_session(session_config(backend.ws_url), [ReplaySource(Source.SYSTEM, path)],
                            during=stop_early)
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY
    counters = run.ended.sources[Source.SYSTEM]
    assert counters.captured_frames == counters.sent_frames
    assert counters.captured_frames * 320 < signal.size  # really stopped mid-file
    await backend.stop()
    received = read_recording(record_dir, run.session.session_id, "system")
    captured = counters.captured_frames * 320
    assert received.size == captured + PAD_FRAMES * 320  # and the stop padding after it
    assert not received[captured:].any()
    # everything up to the zero-padded tail frame is the file's audio, sample for sample
    assert np.array_equal(received[: captured - 320], signal[: captured - 320])


async def test_wrong_token_close_1008_is_terminal_and_not_retried(wavs: dict[Source, Path]) -> None:
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", token="right")
    async with ReferenceBackend(config) as backend:
        run = await run_session(
            session_config(backend.ws_url, token="wrong", health_check=False),
            [ReplaySource(Source.SYSTEM, wavs[Source.SYSTEM])],
        )
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    assert run.ended.reconnects == 0
    failures = run.of(SessionFailed)
    assert len(failures) == 1 and failures[0].terminal
    assert "token" in failures[0].message.lower()
    assert run.session.snapshot().state is ConnectionState.FAILED


async def test_wrong_token_on_health_is_an_auth_error(wavs: dict[Source, Path]) -> None:
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", token="right")
    async with ReferenceBackend(config) as backend:
        run = await run_session(session_config(backend.ws_url, token="nope"),
                                [ReplaySource(Source.SYSTEM, wavs[Source.SYSTEM])])
        assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
        assert "refused the token" in run.ended.message
        ok = await run_session(session_config(backend.ws_url, token="right"),
                               [ReplaySource(Source.SYSTEM, wavs[Source.SYSTEM])])
        assert ok.ended is not None and ok.ended.outcome is StopOutcome.SUMMARY


async def test_health_503_shows_the_reason_and_waits_for_the_model(wavs: dict[Source, Path]) -> None:
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", load_seconds=1.5)
    async with ReferenceBackend(config) as backend:
        run = await run_session(session_config(backend.ws_url),
                                [ReplaySource(Source.SYSTEM, wavs[Source.SYSTEM])])
    details = [e.detail for e in run.of(StateChanged) if e.state is ConnectionState.CHECKING]
    assert any(d.startswith("Backend not ready:") and "simulated" in d.lower() for d in details), details
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY


async def test_health_503_gives_up_with_backend_not_ready(wavs: dict[Source, Path]) -> None:
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", load_seconds=30.0)
    async with ReferenceBackend(config) as backend:
        run = await run_session(session_config(backend.ws_url, health_wait_seconds=1.0, reconnect=FEW),
                                [ReplaySource(Source.SYSTEM, wavs[Source.SYSTEM])])
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    assert "not ready" in run.ended.message and "Gave up after 1 retries" in run.ended.message


def free_port() -> int:
    import socket

    with socket.socket() as s:  # a port nobody listens on (for now)
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


FEW = ReconnectPolicy(base_seconds=0.1, cap_seconds=0.2, max_attempts=1, jitter=0.0)


def retries(run: Run) -> list[str]:
    return [e.detail for e in run.of(StateChanged)
            if e.state is ConnectionState.CHECKING and e.detail.startswith("Retrying in")]


async def test_unreachable_backend_is_retried_then_fails_with_a_clear_message(
    wavs: dict[Source, Path]
) -> None:
    policy = ReconnectPolicy(base_seconds=0.1, cap_seconds=0.2, max_attempts=2, jitter=0.0)
    run = await run_session(session_config(f"127.0.0.1:{free_port()}", reconnect=policy),
                            [ReplaySource(Source.SYSTEM, wavs[Source.SYSTEM])])
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    assert "Cannot reach the backend" in run.ended.message and "Gave up after 2 retries" in run.ended.message
    # retried with the reconnect policy, then reported as a transient failure that was given up on
    assert len(retries(run)) == 2 and "attempt 2 of 2" in retries(run)[-1]
    [failed] = run.of(SessionFailed)
    assert not failed.terminal and failed.message == run.ended.message


async def test_a_backend_that_is_still_restarting_at_start_is_waited_for(wavs: dict[Source, Path]) -> None:
    port = free_port()

    async def bring_the_backend_up(run: Run) -> None:
        await wait_for(lambda: bool(retries(run)))  # the first health check failed: now it comes up
        config = BackendConfig(host="127.0.0.1", port=port, recognizer="simulated")
        backend = ReferenceBackend(config)
        await backend.start()
        started.append(backend)

    started: list[ReferenceBackend] = []
    try:
        run = await run_session(session_config(f"127.0.0.1:{port}"),
                                [ReplaySource(Source.SYSTEM, wavs[Source.SYSTEM])],
                                during=bring_the_backend_up)
    finally:
        for backend in started:
            await backend.stop()
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    assert retries(run) and "Cannot reach the backend" in retries(run)[0]
    assert run.ended.reconnects == 0  # no connection was ever lost


async def test_transcript_events_carry_rebased_session_times(
    backend: ReferenceBackend, wavs: dict[Source, Path], record_dir: Path
) -> None:
    run = await run_session(session_config(backend.ws_url), [ReplaySource(Source.MIC, wavs[Source.MIC])])
    finals = [e.segment for e in run.of(TranscriptChanged) if e.segment.is_final]
    assert finals
    # one connection, so one recording folder
    assert len(connection_folders(record_dir, run.session.session_id)) == 1
    # session time = capture time: the first burst starts 0.5 s into the file, which started after
    # the health check; it can never be earlier than 0.5 s
    assert finals[0].t0 >= 0.5


async def test_stop_before_streaming_ends_without_opening_devices(
    backend: ReferenceBackend, wavs: dict[Source, Path]
) -> None:
    from app.core.session_state import SessionEnded
    from app.session import Session

    source = ReplaySource(Source.SYSTEM, wavs[Source.SYSTEM])
    session = Session(session_config(backend.ws_url), [source])
    ended = await session.stop()  # stop at once: the health check is cut short
    assert isinstance(ended, SessionEnded) and ended.outcome is StopOutcome.NO_SUMMARY
    assert ended.sources[Source.SYSTEM].captured_frames == 0
    assert session.snapshot().state is ConnectionState.STOPPED
    assert await session.stop() is ended  # idempotent
