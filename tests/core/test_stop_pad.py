"""The stop padding (app.core.stop_pad): the recognizer's end-of-stream rule discards only padding, and
padding stays out of the transcript's times and the loss book (app.core.server_view)."""

from __future__ import annotations

import pytest

from app.core.flow import FlowConfig
from app.core.framing import Frame
from app.core.messages import FRAME_BYTES, FRAME_SECONDS, Source
from app.core.server_view import ServerView
from app.core.stop_pad import (
    MIN_FINAL_FRAMES,
    PAD_FRAMES,
    Padding,
    discarded_real,
    is_padding,
    padding,
    real_frames,
)
from app.core.timemap import TimeMap


def end_of_stream(total: int, chunk: int, min_final: int) -> tuple[int, int]:
    """An independent replay of the server's consumption of ``total`` frames: (frames transcribed,
    frames discarded): whole chunks, then the rest only if it is at least ``min_final``."""
    whole = total // chunk * chunk
    rest = total - whole
    return (total, 0) if rest >= min_final or rest == 0 else (whole, rest)


@pytest.mark.parametrize("chunk", [100, 200, 26])
def test_with_padding_no_real_frame_is_discarded_whatever_the_remainder(chunk: int) -> None:
    for full_chunks in (0, 1, 3):
        for remainder in range(chunk):
            real = full_chunks * chunk + remainder
            transcribed, _ = end_of_stream(real + PAD_FRAMES, chunk, MIN_FINAL_FRAMES)
            assert transcribed >= real, (chunk, real)  # every real frame is in what is transcribed
            assert discarded_real(remainder, PAD_FRAMES, chunk) == 0


def test_without_padding_a_remainder_under_half_a_second_is_lost() -> None:
    """The defect the padding removes (0.2-0.44 s lost at Stop on the real server)."""
    assert MIN_FINAL_FRAMES == 25 and PAD_FRAMES == 26
    for remainder in range(1, MIN_FINAL_FRAMES):
        assert discarded_real(remainder, 0, 100) == remainder
        assert end_of_stream(300 + remainder, 100, MIN_FINAL_FRAMES) == (300, remainder)
    assert discarded_real(MIN_FINAL_FRAMES, 0, 100) == 0
    assert discarded_real(0, 0, 100) == 0


def test_a_padding_too_short_would_still_lose_real_frames() -> None:
    """The arithmetic needs pad >= min_final: 10 frames of padding after 5 real ones leave a 15-frame
    rest, discarded with its 5 real frames."""
    assert discarded_real(5, 10, 100) == 5
    assert discarded_real(95, 10, 100) == 0  # a whole chunk takes the real frames, the rest is padding


def test_discarded_real_rejects_impossible_inputs() -> None:
    with pytest.raises(ValueError):
        discarded_real(100, PAD_FRAMES, 100)
    with pytest.raises(ValueError):
        discarded_real(5, 101, 100)


def frames(source: Source, count: int, start: float = 10.0) -> list[Frame]:
    return [Frame(source, bytes([k % 250 + 1]) * FRAME_BYTES, start + k * FRAME_SECONDS, k)
            for k in range(count)]


def test_padding_continues_the_source_right_after_its_last_frame_in_silence() -> None:
    real = frames(Source.SYSTEM, 5)
    pad = padding(real[-1])
    assert len(pad) == PAD_FRAMES
    assert all(is_padding(f) and isinstance(f, Padding) and f.pcm == bytes(FRAME_BYTES) for f in pad)
    assert [f.index for f in pad] == list(range(5, 5 + PAD_FRAMES))
    assert pad[0].capture_time == pytest.approx(real[-1].capture_time + FRAME_SECONDS)
    assert all(f.source is Source.SYSTEM for f in pad)
    assert real_frames(real + pad) == real
    timemap = TimeMap()
    for frame in real + pad:
        timemap.record_sent(frame)
    assert timemap.capture_time("system", 5) == pytest.approx(real[-1].capture_time + FRAME_SECONDS)


def test_transcript_times_are_clamped_to_the_end_of_the_audio() -> None:
    view: ServerView[Frame] = ServerView(FlowConfig(), 0.0, chunk_frames=100)
    real = frames(Source.MIC, 110)
    pad = padding(real[-1])
    view.record_sent(real, 12.0)
    view.record_sent(pad, 12.3)
    end = real[-1].capture_time + FRAME_SECONDS
    # the padding has no duration in capture time: a time in it maps to the end of the real audio (the
    # time map knows the padding by itself), and times before it are untouched; so after ``audio_ends``
    for declared in (False, True):
        if declared:
            view.audio_ends("mic", end)
        for server_time in (2.2, 2.4, 2.72, 99.0):
            for is_end in (False, True):
                mapped = view.to_capture("mic", server_time, end=is_end)
                assert mapped is not None and mapped[0] == pytest.approx(min(end, 10.0 + server_time))
                assert mapped[1] == 0.0
        mapped = view.to_capture("mic", 1.0)
        assert mapped is not None and mapped[0] == pytest.approx(11.0)


def test_the_servers_drops_of_padding_are_no_loss() -> None:
    """A drop that covers the end of the real audio and padding counts only the real part (a padding
    longer than the server's queue, so that the model drops some of it)."""
    view: ServerView[Frame] = ServerView(FlowConfig(), 0.0, chunk_frames=100)
    real = frames(Source.SYSTEM, 120)
    view.record_sent(real + padding(real[-1], 150), 0.0)  # positions 120..269 are padding
    view.on_final("system", 0.0, 2.0, 1.0)  # chunk 0 done at 1.0: the queue then held 170..269
    end = real[-1].capture_time + FRAME_SECONDS
    for declared in (False, True):  # the model drops positions 100..169
        if declared:
            view.audio_ends("system", end)
        spans = view.dropped("system")
        assert len(spans) == 1
        assert spans[0].start == pytest.approx(real[100].capture_time)
        assert spans[0].end == pytest.approx(end)  # 20 real frames, the padding's 50 not counted


def test_the_stop_tail_is_what_follows_the_last_whole_chunk_when_shorter_than_half_a_second() -> None:
    view: ServerView[Frame] = ServerView(FlowConfig(), 0.0, chunk_frames=100)
    real = frames(Source.MIC, 215)
    for k, frame in enumerate(real):  # live: a frame every 20 ms, each chunk done 0.1 s after it filled
        view.record_sent([frame], k * FRAME_SECONDS)
        if k in (99, 199):
            view.on_final("mic", (k - 99) * FRAME_SECONDS, (k + 1) * FRAME_SECONDS, k * FRAME_SECONDS + 0.1)
    assert view.dropped_frames("mic") == 0
    tail, exact = view.stop_tail("mic")
    assert tail == real[200:] and exact  # 0.3 s the end-of-stream rule discards
    # with the padding sent the discarded tail is padding only: no real frame in it
    view.record_sent(padding(real[-1]), 4.4)
    tail, _ = view.stop_tail("mic")
    assert tail == []  # 15 real + 26 padding frames: transcribed
    # 90 real frames after the last whole chunk: the padding completes a chunk, 16 of it are discarded
    crossing: ServerView[Frame] = ServerView(FlowConfig(), 0.0, chunk_frames=100)
    real = frames(Source.MIC, 190)
    for k, frame in enumerate(real):
        crossing.record_sent([frame], k * FRAME_SECONDS)
        if k == 99:
            crossing.on_final("mic", 0.0, 2.0, k * FRAME_SECONDS + 0.1)
    crossing.record_sent(padding(real[-1]), 3.9)
    tail, _ = crossing.stop_tail("mic")
    assert len(tail) == 16 and all(is_padding(f) for f in tail) and real_frames(tail) == []
    # a remainder of at least 0.5 s is transcribed: no tail; nor for a source never sent
    longer: ServerView[Frame] = ServerView(FlowConfig(), 0.0, chunk_frames=100)
    longer.record_sent(frames(Source.MIC, 225), 0.0)
    assert longer.stop_tail("mic") == ([], True)
    assert longer.stop_tail("system") == ([], True)


def test_a_segment_ending_in_the_padding_after_skipped_silence_ends_at_the_last_real_frame() -> None:
    """Issue 12 on the real server, throttling on: the source fell silent before Stop, the VAD skipped
    the silence (never sent), and the padding continues the last CAPTURED frame: the Stop moment. The
    final the recognizer makes at Stop holds the last speech and the padding only, so its end lies in
    the padding; it must map to the end of the last speech frame sent, not to Stop (was +1.58 s), and
    be exact (nothing about it is estimated). Its start stays exact, where the speech starts."""
    view: ServerView[Frame] = ServerView(FlowConfig(), 0.0, chunk_frames=100)
    captured = frames(Source.MIC, 230)  # 10.00 .. 14.60: speech to 13.00 (frame 149), then silence
    speech, skipped = captured[:150], captured[150:]
    view.record_sent(speech, 12.0)
    pad = padding(captured[-1])  # made from the last frame read: after the silence
    assert pad[0].capture_time == pytest.approx(skipped[-1].capture_time + FRAME_SECONDS)
    view.audio_ends("mic", captured[-1].capture_time + FRAME_SECONDS)
    view.record_sent(pad, 14.6)
    view.on_final("mic", 0.0, 2.0, 13.0)  # chunk 0: frames 0..99
    speech_end = speech[-1].capture_time + FRAME_SECONDS
    # the final at Stop: the last 50 real frames + the 26 padding frames, 2.0 .. 3.52 s processed
    t1 = (150 + PAD_FRAMES) * FRAME_SECONDS
    view.on_final("mic", 2.0, t1, 15.0)
    start = view.to_capture("mic", 2.0)
    end = view.to_capture("mic", t1, end=True)
    assert start is not None and end is not None
    assert start == (pytest.approx(speech[100].capture_time), 0.0)
    assert end == (pytest.approx(speech_end), 0.0)  # 13.00, not 14.62
    # nothing at all maps beyond the last real frame: not any point of the padding, nor past it
    for server_time in (3.0, 3.02, 3.3, t1, 99.0):
        for is_end in (False, True):
            mapped = view.to_capture("mic", server_time, end=is_end)
            assert mapped is not None and mapped[0] == pytest.approx(speech_end)
    # the server dropping padding is no loss either, before or after ``audio_ends``
    assert view.dropped("mic") == []


def test_the_time_map_puts_padding_at_the_end_of_the_real_audio_sent_before_it() -> None:
    """TimeMap alone: a run of padding is still; a real frame after it starts a run of its own."""
    captured = frames(Source.SYSTEM, 60)
    timemap = TimeMap()
    for frame in captured[:20]:  # 40 frames skipped, then the padding continues frame 59
        timemap.record_sent(frame)
    pad = padding(captured[-1], 5)
    for frame in pad:
        timemap.record_sent(frame)
    real_end = captured[19].capture_time + FRAME_SECONDS
    middle = captured[19].capture_time + FRAME_SECONDS / 2
    assert timemap.capture_time("system", 19.5) == pytest.approx(middle)
    for position in (20, 21.5, 25, 99):
        assert timemap.capture_time("system", position) == pytest.approx(real_end)
    assert timemap.sent_frames("system") == 25
    later = Frame(Source.SYSTEM, captured[0].pcm, 20.0, 500)
    timemap.record_sent(later)
    assert timemap.capture_time("system", 25) == pytest.approx(20.0)
    assert timemap.capture_time("system", 25.5) == pytest.approx(20.01)
    # padding with no real frame before it on the connection keeps its own time
    alone = TimeMap()
    for frame in pad:
        alone.record_sent(frame)
    assert alone.capture_time("system", 3) == pytest.approx(pad[0].capture_time)
