"""Chunked consumption, pure: a lane pulls only while the recognizer is not busy with it, one chunk at a
time; stepped through simulated time it reproduces the real server's measured saw-tooth
(CONTRACT.md section 10; /work/realserver run b: fill 0.01 -> 0.51 -> 1.0, 100 items dropped per 3 s)."""

from __future__ import annotations

from app.backend.chunking import ChunkLane, Span, chunk_bytes_for
from app.backend.queues import SessionQueues
from app.backend.recognizers import chunk_regions, simulated_finals

FRAME = 640
CHUNK = chunk_bytes_for(2.0)


def frame(k: int) -> bytes:
    return k.to_bytes(4, "big") * (FRAME // 4)


def queues_with(*sources: str) -> SessionQueues:
    q = SessionQueues(64_000, lambda: 0.0)
    for source in sources:
        assert q.admit(source)
    return q


def test_chunk_bytes_are_whole_samples() -> None:
    assert (CHUNK, chunk_bytes_for(0.5), chunk_bytes_for(0.00001)) == (64_000, 16_000, 2)


def test_the_lane_pulls_until_it_holds_a_chunk_and_not_while_busy() -> None:
    q = queues_with("mic")
    lane = ChunkLane("mic", q.queue("mic"), 4 * FRAME)
    for k in range(6):
        q.put("mic", frame(k))
    assert lane.pull(1.0) and lane.buffered_bytes == 4 * FRAME and q.queue("mic").depth == 2
    chunk = lane.cut()
    assert (chunk.t0, chunk.t1, chunk.remainder) == (0.0, 0.08, False)
    assert chunk.spans == (Span(0, 4 * FRAME, 1.0),)
    assert chunk.pcm == b"".join(frame(k) for k in range(4))
    lane.busy = True
    q.put("mic", frame(6))
    assert not lane.pull(2.0) and q.queue("mic").depth == 3  # busy: the queue keeps filling
    lane.busy = False
    assert not lane.pull(3.0) and lane.buffered_bytes == 3 * FRAME and q.queue("mic").depth == 0


def test_a_chunk_after_drops_is_traced_to_the_received_bytes_it_came_from() -> None:
    q = SessionQueues(4 * FRAME, lambda: 0.0)
    q.admit("mic")
    lane = ChunkLane("mic", q.queue("mic"), 4 * FRAME)
    lane.busy = True
    for k in range(7):  # the queue holds 4 items: frames 0-2 are dropped
        q.put("mic", frame(k))
    lane.busy = False
    assert lane.pull(5.0)
    chunk = lane.cut()
    assert chunk.spans == (Span(3 * FRAME, 7 * FRAME, 5.0),)
    assert chunk.t0 == 0.0  # dropped audio is not on the timeline
    assert chunk.pcm == b"".join(frame(k) for k in range(3, 7))


def test_one_chunk_can_span_a_drop() -> None:
    q = SessionQueues(4 * FRAME, lambda: 0.0)
    q.admit("mic")
    lane = ChunkLane("mic", q.queue("mic"), 6 * FRAME)
    for k in range(2):
        q.put("mic", frame(k))
    lane.pull(1.0)  # frames 0-1 in the buffer
    lane.busy = True
    for k in range(2, 8):  # frames 2-3 dropped
        q.put("mic", frame(k))
    lane.busy = False
    assert lane.pull(2.0)
    assert lane.cut().spans == (Span(0, 2 * FRAME, 1.0), Span(4 * FRAME, 8 * FRAME, 2.0))


def test_the_remainder_is_transcribed_from_half_a_second_else_discarded() -> None:
    q = queues_with("mic")
    lane = ChunkLane("mic", q.queue("mic"), CHUNK)
    for k in range(25):  # 0.5 s
        q.put("mic", frame(k))
    lane.pull(0.0)
    rest = lane.cut_remainder()
    assert rest is not None and rest.remainder and (rest.t0, rest.t1) == (0.0, 0.5)
    for k in range(24):  # 0.48 s
        q.put("mic", frame(k))
    lane.pull(0.0)
    assert lane.cut_remainder() is None and lane.buffered_bytes == 0
    assert lane.processed_bytes == 16_000  # the discarded rest never reached the timeline


Simulated = tuple[dict[str, list[float]], list[int], dict[str, float]]


def simulate(rtf: dict[str, float], seconds: int) -> Simulated:
    """Two sources sending 20 ms frames in real time (system first), each lane's recognizer busy
    ``rtf x 2 s`` per chunk; metrics ticks every 1.001 s from 1.005 s. Integer milliseconds.
    Returns the fill per tick per source, dropped_total per tick, and each lane's processed seconds."""
    q = queues_with("system", "mic")
    lanes = {s: ChunkLane(s, q.queue(s), CHUNK) for s in ("system", "mic")}
    busy_until = {s: -1 for s in lanes}
    fills: dict[str, list[float]] = {s: [] for s in lanes}
    dropped: list[int] = []
    next_tick = 1005
    for now in range(0, seconds * 1000 + 1):
        for source, lane in lanes.items():
            if lane.busy and now >= busy_until[source]:
                lane.busy = False
            if now % 20 == 0:
                q.put(source, bytes(FRAME))
            if not lane.busy and lane.pull(now / 1000):
                lane.cut()
                lane.busy = True
                busy_until[source] = now + round(rtf[source] * 2000)
        if now == next_tick:
            for stats in q.tick():
                fills[stats.source].append(round(stats.fill_ratio, 2))
            dropped.append(q.dropped_total)
            next_tick += 1001
    return fills, dropped, {s: lane.processed_bytes / 32_000 for s, lane in lanes.items()}


def test_overload_saw_tooths_and_drops_in_bursts_like_the_real_server() -> None:
    fills, dropped, processed = simulate({"system": 1.5, "mic": 1.5}, 30)
    for source in ("system", "mic"):
        # the real server's first ten ticks in run b, value for value
        assert fills[source][:10] == [0.0, 0.01, 0.51, 1.0, 0.01, 0.51, 1.0, 0.01, 0.51, 1.0]
        assert processed[source] == 20.0  # 10 chunks started: 30 s sent, the timeline is compressed
    assert dropped[:7] == [0, 0, 0, 2, 100, 100, 102]  # bursts of 50 per source per 3 s cycle
    assert dropped[4::3] == [100 * k for k in range(1, 10)]  # 1 s per source per cycle: 9 s of 30


def test_a_healthy_recognizer_keeps_every_queue_nearly_empty() -> None:
    fills, dropped, processed = simulate({"system": 0.3, "mic": 0.3}, 30)
    assert fills["system"][:4] == [0.0, 0.01, 0.0, 0.01]  # run a: a tick during a chunk sees 1-2 items
    assert max(fills["system"] + fills["mic"]) <= 0.02 and dropped[-1] == 0
    assert processed == {"system": 30.0, "mic": 30.0}


def test_chunk_regions_and_the_bench_rederivation_agree() -> None:
    tone = (b"\x00\x30" + b"\x00\xd0") * 8000  # 1 s of a loud square wave
    quiet = bytes(32_000)
    processed = tone + quiet + tone[:16_000] + tone + tone[:16_000] * 2  # chunks cut at 2.0 and 4.0
    assert chunk_regions(processed[:64_000]) == [(0.0, 1.0)]
    assert simulated_finals(processed, 64_000) == [(0.0, 1.0), (2.0, 4.0), (4.0, 4.5)]
