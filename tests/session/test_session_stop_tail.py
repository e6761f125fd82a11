"""The meeting's last words at Stop, against the reference backend (faithful chunking: 2 s chunks, an
end-of-stream remainder under 0.5 s discarded, as the real server does). The meeting is speech to its
very last frame and ends 0.3 s after a whole chunk, the case that lost 0.2-0.44 s on the real server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sessionkit import bursts, run_session, session_config, write_wav

from app.backend import BackendConfig, ReferenceBackend
from app.backend.recording import read_recording
from app.capture.replay import ReplaySource
from app.core.framing import Frame
from app.core.losses import LossCause
from app.core.messages import FRAME_SAMPLES, FRAME_SECONDS, Source
from app.core.session_state import SessionEnded, StopOutcome
from app.core.stop_pad import PAD_FRAMES, is_padding

SECONDS = 4.3  # two whole chunks + 0.3 s per source
REAL_FRAMES = round(SECONDS / FRAME_SECONDS)


def speech_to_the_end(tmp_path: Path) -> dict[Source, Path]:
    return {src: write_wav(tmp_path / f"{src.value}.wav",
                           bursts(SECONDS, freq, on=SECONDS, off=0.0, lead=0.0, seed=seed)[0])
            for src, freq, seed in ((Source.SYSTEM, 220.0, 31), (Source.MIC, 330.0, 32))}


async def stop_at_the_end(tmp_path: Path, record_dir: Path, *, padding: bool
                          ) -> tuple[SessionEnded, str, dict[Source, list[Frame]], dict[Source, float]]:
    tapped: dict[Source, list[Frame]] = {src: [] for src in Source}

    def tap(frames: list[Frame]) -> None:
        for frame in frames:
            tapped[frame.source].append(frame)

    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", rtf=0.2, record_dir=record_dir)
    async with ReferenceBackend(config) as backend:
        run = await run_session(session_config(backend.ws_url, stop_padding=padding),
                                [ReplaySource(s, p) for s, p in speech_to_the_end(tmp_path).items()],
                                tap=tap, timeout=60)
    assert run.ended is not None
    view = run.session.server_view
    assert view is not None
    ends = {}
    for src in Source:  # the latest instant any transcript time can map to
        mapped = view.to_capture(src.value, 1e6, end=True)
        assert mapped is not None
        ends[src] = mapped[0]
    return run.ended, run.session.session_id, tapped, ends


def accounted(ended: SessionEnded) -> None:
    for src, c in ended.sources.items():
        assert c.captured_frames == (c.sent_frames + c.dropped_frames + c.shed_frames + c.skipped_frames
                                     + c.buffered_frames), (src, c)


async def test_speech_to_the_very_end_is_all_consumed_with_the_stop_padding(
    tmp_path: Path, record_dir: Path
) -> None:
    ended, session_id, tapped, ends = await stop_at_the_end(tmp_path, record_dir, padding=True)
    assert ended.outcome is StopOutcome.SUMMARY, ended.message
    accounted(ended)
    for src, c in ended.sources.items():
        meeting = np.frombuffer(b"".join(f.pcm for f in tapped[src]), dtype="<i2")
        assert c.captured_frames == c.sent_frames == len(tapped[src]) == REAL_FRAMES
        assert c.padding_frames == PAD_FRAMES  # reported apart, in no bucket of the invariant
        assert not any(is_padding(f) for f in tapped[src])  # never in the meeting's recording
        received = read_recording(record_dir, session_id, src.value)
        assert received.size == (REAL_FRAMES + PAD_FRAMES) * FRAME_SAMPLES
        assert np.array_equal(received[: meeting.size], meeting)
        assert not received[meeting.size:].any()  # the padding: digital silence after the last frame
        # the recognizer consumed every real frame: the last ones too (a whole third chunk holds them)
        processed = read_recording(record_dir, session_id, src.value, processed=True)
        assert processed.size >= meeting.size
        assert np.array_equal(processed[: meeting.size], meeting)
        # nothing lost, and no transcript time can lie after the meeting's last frame
        assert ended.losses[src.value].total_seconds == 0.0  # stop_tail included: only padding discarded
        assert ends[src] == pytest.approx(tapped[src][-1].capture_time + FRAME_SECONDS)


async def test_without_the_padding_the_last_tenths_of_a_second_are_lost_and_counted(
    tmp_path: Path, record_dir: Path
) -> None:
    """The defect the padding removes, on the same meeting: the 0.3 s after the second chunk is
    discarded by the backend. The client does not claim it was transcribed: it is a located loss."""
    ended, session_id, tapped, _ = await stop_at_the_end(tmp_path, record_dir, padding=False)
    assert ended.outcome is StopOutcome.SUMMARY, ended.message
    accounted(ended)
    for src, c in ended.sources.items():
        assert c.sent_frames == REAL_FRAMES and c.padding_frames == 0
        processed = read_recording(record_dir, session_id, src.value, processed=True)
        assert processed.size == (REAL_FRAMES - 15) * FRAME_SAMPLES  # 4.0 s of 4.3 s
        lost = ended.losses[src.value]
        assert lost.stop_tail_seconds == pytest.approx(0.3, abs=1e-6)
        assert lost.total_seconds == pytest.approx(0.3, abs=1e-6)
        [span] = lost.spans
        assert span.cause is LossCause.STOP_TAIL and not span.approximate
        assert span.end - span.start == pytest.approx(0.3, abs=1e-6)
        # at the meeting's end: its last 0.3 s (session time counts from just before the first frame)
        assert SECONDS <= span.end < SECONDS + 1.0
        assert span.end - span.start == pytest.approx(
            tapped[src][-1].capture_time + FRAME_SECONDS - tapped[src][-15].capture_time, abs=1e-6)


SPEECH_SECONDS, QUIET_SECONDS = 2.9, 1.9  # then Stop: the meeting's last 1.9 s are silence


@pytest.mark.parametrize("throttle", [True, False], ids=["throttle_on", "throttle_off"])
async def test_the_final_made_at_stop_ends_at_its_last_real_audio_not_at_stop(
    tmp_path: Path, record_dir: Path, throttle: bool
) -> None:
    """Issue 12 on the real server: with throttling on, a source silent before Stop has the silence
    skipped (never sent), and the final the recognizer makes at Stop (one per chunk, as the measured
    stub does) holds the last speech and the stop padding only. Its end must be the end of the last
    real frame sent, not the Stop moment (was +1.58 s, not flagged). Throttling off, the silence is
    sent and is in that final: its end is then truthfully the end of the last captured frame, and
    never beyond it (the padding is no audio)."""
    seconds = SPEECH_SECONDS + QUIET_SECONDS
    signal = bursts(seconds, 330.0, on=SPEECH_SECONDS, off=10.0, lead=0.0, seed=41)[0]
    path = write_wav(tmp_path / "mic.wav", signal)
    tapped: list[Frame] = []
    # slow enough (throttling on) that audio waits on the client and the policy skips silence
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", finals="chunks",
                           rtf=1.5 if throttle else 0.2, record_dir=record_dir)
    async with ReferenceBackend(config) as backend:
        run = await run_session(session_config(backend.ws_url, throttle=throttle),
                                [ReplaySource(Source.MIC, path)], tap=tapped.extend, timeout=60)
        assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    c = run.ended.sources[Source.MIC]
    assert c.padding_frames == PAD_FRAMES and c.dropped_frames == 0 and c.shed_frames == 0
    # the last real frame the backend received, found among the captured ones by its (unique) samples
    received = read_recording(record_dir, run.session.session_id, Source.MIC.value)
    real = received[: received.size - PAD_FRAMES * FRAME_SAMPLES]
    assert real.size == c.sent_frames * FRAME_SAMPLES and not received[real.size:].any()
    last = real[-FRAME_SAMPLES:].tobytes()
    [last_sent] = [f for f in tapped if f.pcm == last]
    audio_end = tapped[-1].capture_time + FRAME_SECONDS
    if throttle:  # the case: the tail's silence was skipped, the last frame sent is long before Stop
        assert c.skipped_frames > 0
        assert audio_end - (last_sent.capture_time + FRAME_SECONDS) > 0.5
    else:
        assert c.skipped_frames == 0 and last_sent is tapped[-1]
    finals = sorted((s for s in run.session.snapshot().transcript if s.is_final and s.source == "mic"),
                    key=lambda s: s.t0)
    assert len(finals) >= 2
    offset = finals[0].t0 - tapped[0].capture_time  # capture -> session time (chunk 0 starts at frame 0)
    stop_final = finals[-1]
    assert not stop_final.approximate and stop_final.error_seconds == 0.0
    assert stop_final.t1 - offset == pytest.approx(last_sent.capture_time + FRAME_SECONDS, abs=1e-6)
    assert all(s.t1 - offset <= last_sent.capture_time + FRAME_SECONDS + 1e-6 for s in finals)
