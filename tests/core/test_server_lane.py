"""LaneMirror against a faithful model of the server's lanes (tests/core/lanesim.py): chunks, drops,
timestamps, credit, the chunk size and bounded memory, all on stepped time."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from lanesim import FRAME, LaneServer, Rtf, SimEvent

from app.core.lane_history import KEEP
from app.core.server_lane import LaneMirror

SOURCES = ("system", "mic")
TOLERANCE = 6  # what the session uses at its 80 ms tick: a batch of 4 frames, plus 2


def stream(server: LaneServer, seconds: float, *, tick: float = 0.08, jitter: float = 0.3, seed: int = 1,
           chunk_frames: int | None = None,
           on_final: Callable[[LaneMirror, SimEvent], None] | None = None) -> dict[str, LaneMirror]:
    """Both sources at real time, a batch per (jittered) tick; every server event is fed to its
    lane's mirror when it happens, then ``stop`` flushes the lanes."""
    rnd = random.Random(seed)
    mirrors = {s: LaneMirror(chunk_frames, tolerance_frames=TOLERANCE) for s in SOURCES}
    sent = dict.fromkeys(SOURCES, 0)
    seen = 0

    def deliver() -> None:
        nonlocal seen
        for ev in server.events[seen:]:
            mirror = mirrors[ev.source]
            if ev.kind == "final":
                mirror.final(ev.t0, ev.t1, ev.at)
                if on_final is not None:
                    on_final(mirror, ev)
            else:
                mirror.metrics(ev.queued, ev.at, ev.dropped_total)
        seen = len(server.events)

    t = 0.0
    while t < seconds:
        t += tick * rnd.uniform(1 - jitter / 3, 1 + jitter)
        for s in SOURCES:
            due = int(t / FRAME) - sent[s]
            for i in range(due):
                server.arrive(s, sent[s] + i, t)
            mirrors[s].sent(due, t)
            mirrors[s].credit(t, 10)  # the session asks every tick: the model follows as it goes
            sent[s] += due
        server.advance(t)
        deliver()
    server.flush(t)
    deliver()
    return mirrors


def overload(start: float, end: float, high: float = 1.6, low: float = 0.4, seed: int = 0) -> Rtf:
    rnd = random.Random(seed)
    return lambda t, s: (high if start <= t < end else low) * rnd.uniform(0.8, 1.25)


def errors_at_finals(server: LaneServer, **kw: object) -> list[float]:
    """Seconds between where the mirror puts each final's first frame when it arrives and the truth."""
    errors: list[float] = []

    def check(mirror: LaneMirror, ev: SimEvent) -> None:
        position, _ = mirror.position(round(ev.t0 / FRAME))
        errors.append(abs(position - ev.first) * FRAME)

    stream(server, on_final=check, **kw)  # type: ignore[arg-type]
    return errors


def test_a_healthy_lane_has_back_to_back_chunks_and_no_drops() -> None:
    server = LaneServer(rtf=lambda t, s: 0.3)
    mirrors = stream(server, 20.0)
    for s in SOURCES:
        assert server.lanes[s].dropped == [] and mirrors[s].dropped_spans() == []
        starts = [c.start for c in mirrors[s].chunks()]
        assert starts == [c[0] for c in server.lanes[s].chunks][: len(starts)]
        assert all(c.exact for c in mirrors[s].chunks()[:-1])


def test_overload_drops_are_found_exactly_and_located() -> None:
    server = LaneServer(rtf=lambda t, s: 1.5)
    mirrors = stream(server, 30.0)
    for s in SOURCES:
        truth = server.lanes[s].dropped
        assert len(truth) > 400  # a third of the audio
        found = [p for first, last, _ in mirrors[s].dropped_spans() for p in range(first, last + 1)]
        assert found == truth
        assert all(exact for _, _, exact in mirrors[s].dropped_spans())


@pytest.mark.parametrize("seed", range(4))
def test_timestamps_stay_true_through_drops_and_silent_chunks(seed: int) -> None:
    # Jittered speed, overloaded in the middle, long stretches with no final (silence): the mirror must
    # place every final's audio where it was captured, live, as the final arrives.
    def speech(s: str, p: int) -> bool:
        return (p // 400) % 2 == 0 if s == "mic" else (p // 300) % 3 != 2

    phase = random.Random(seed).random()
    server = LaneServer(rtf=overload(8, 32, seed=seed), speech=speech, metrics_phase=phase)
    errors = sorted(errors_at_finals(server, seconds=40.0, seed=seed))
    assert len(errors) >= 15
    assert errors[int(0.9 * len(errors))] <= 1.0 and errors[-1] <= 2.0, errors
    assert sum(e == 0 for e in errors) >= 0.75 * len(errors)


def test_every_dropped_frame_is_counted_per_source_when_finals_are_sparse() -> None:
    def speech(s: str, p: int) -> bool:
        return (p // 250) % 2 == 0  # every other 5 s: half the chunks end with no final

    server = LaneServer(rtf=overload(5, 35, high=1.4, seed=3), speech=speech)
    mirrors = stream(server, 40.0, seed=3)
    for s in SOURCES:
        truth = len(server.lanes[s].dropped)
        found = mirrors[s].dropped_frames()
        assert abs(found - truth) <= 0.2 * truth, (s, found, truth)


def test_a_client_that_follows_the_credit_never_makes_the_server_drop() -> None:
    server = LaneServer(rtf=overload(5, 25, high=1.7, seed=5))
    mirror = LaneMirror()
    held = 0  # frames captured and not yet sent
    sent = 0
    seen = 0
    t = 0.0
    while t < 60.0 or held:
        t += 0.08
        if t < 60.0:
            held = int(t / FRAME) - sent
        n = max(0, min(held, mirror.credit(t, margin=10), 16))
        for i in range(n):
            server.arrive("mic", sent + i, t)
        mirror.sent(n, t)
        sent += n
        held -= n
        server.advance(t)
        for ev in server.events[seen:]:
            if ev.kind == "final":
                mirror.final(ev.t0, ev.t1, ev.at)
            else:
                mirror.metrics(ev.queued, ev.at)
        seen = len(server.events)
        assert t < 120, "the backlog never drained"
    assert server.lanes["mic"].dropped == []
    # everything captured went, after the backlog drained at the server's pace
    assert sent == int(60.0 / FRAME + 1e-6) - 1


def test_following_the_credit_through_a_recognizer_at_rtf_4_keeps_the_chunk_and_loses_nothing() -> None:
    # RTF 4: a 2 s chunk takes 8 s; the queue sits at 90 frames for most of each chunk (the long
    # overload scenario of the benchmark). The mirror must keep the 2 s chunk and the credit shut.
    server = LaneServer(rtf=lambda t, s: 4.0 if t >= 15.0 else 0.25)
    mirror = LaneMirror(tolerance_frames=TOLERANCE)
    sent = seen = 0
    t = 0.0
    while t < 60.0:
        t += 0.08
        n = max(0, min(int(t / FRAME) - sent, mirror.credit(t, margin=10), 16))
        for i in range(n):
            server.arrive("mic", sent + i, t)
        mirror.sent(n, t)
        sent += n
        server.advance(t)
        for ev in server.events[seen:]:
            if ev.source != "mic":
                continue
            if ev.kind == "final":
                mirror.final(ev.t0, ev.t1, ev.at)
            else:
                mirror.metrics(ev.queued, ev.at)
        seen = len(server.events)
    assert mirror.chunk_frames == 100
    assert server.lanes["mic"].dropped == []


@pytest.mark.parametrize(("chunk", "rtf"), [(200, 0.45), (50, 0.7)])
def test_the_chunk_size_is_inferred_from_the_queue_before_any_drop(chunk: int, rtf: float) -> None:
    # The real server's chunk is a setting (2 or 4 s); it is not on the wire. 4 s at 0.45 x real time
    # takes 1.8 s per chunk, so the 2 s queue never fills; 1 s chunks contradict the 2 s default.
    server = LaneServer(chunk_frames=chunk, rtf=lambda t, s: rtf)
    mirrors = stream(server, 30.0)
    assert server.dropped_total == 0
    assert {m.chunk_frames for m in mirrors.values()} == {chunk}
    assert all(m.dropped_spans() == [] for m in mirrors.values())


def test_memory_stays_bounded_over_a_long_meeting() -> None:
    server = LaneServer(rtf=lambda t, s: 1.3 if (t // 60) % 2 else 0.4)
    mirrors = stream(server, 1200.0, jitter=0.1)
    for s in SOURCES:
        mirror = mirrors[s]
        assert len(mirror.log) < 200 and len(mirror._metrics) < 200 and len(mirror._finals) < 50
        truth = [p for p in server.lanes[s].dropped]
        found = [p for first, last, _ in mirror.dropped_spans() for p in range(first, last + 1)]
        assert found == truth
        assert len(mirror.chunks()) <= KEEP + 20  # was: every chunk of the meeting (~0.55 MB/h)


def test_the_first_final_of_a_long_meeting_still_maps_to_where_it_was_captured() -> None:
    # Only the last chunks are kept whole; their places stay as runs (the final summary may map any time).
    server = LaneServer(rtf=lambda t, s: 1.3 if 100 <= t < 140 else 0.4)
    mirrors = stream(server, 900.0, jitter=0.1)
    for s in SOURCES:
        finals = [ev for ev in server.events if ev.kind == "final" and ev.source == s]
        for ev in (finals[0], finals[len(finals) // 3], finals[-1]):
            position, uncertain = mirrors[s].position(round(ev.t0 / FRAME))
            assert abs(position - ev.first) <= uncertain


def test_consumed_only_counts_chunks_known_to_be_done() -> None:
    server = LaneServer(rtf=lambda t, s: 1.0)
    mirror = LaneMirror()
    for k in range(150):  # 3 s sent at once at t=0..: chunk 0 (0..99) is being processed until t=2
        server.arrive("mic", k, k * FRAME)
    mirror.sent(150, 2.98)
    assert mirror.consumed() == 0
    server.advance(4.0)  # chunk 0 filled at 1.98 s and takes 2 s
    final = next(ev for ev in server.events if ev.kind == "final")
    mirror.final(final.t0, final.t1, final.at)
    assert mirror.consumed() == 100


def test_the_report_that_bounds_an_estimated_chunk_end_does_not_also_end_the_next_chunk() -> None:
    # A fresh connection (after a restart) to a slow recognizer, the chunk end estimated from metrics
    # alone (no final, nothing exact yet): 211 frames went at once, 11 were dropped, the queue stayed
    # full for 3 s and was empty at 27.79 (the next chunk had been pulled). The report at 26.79 found the
    # first chunk still busy; it used to be taken as evidence that the NEXT chunk had already ended at
    # that same instant, which opened the credit wide while the recognizer was busy: 3 s of drops.
    mirror = LaneMirror(tolerance_frames=TOLERANCE)
    mirror.sent(99, 24.2)
    mirror.sent(96, 24.6)
    mirror.sent(16, 24.7)
    for at, queued in [(24.79, 100), (25.79, 100), (26.79, 100), (27.79, 0)]:
        mirror.metrics(queued, at, dropped_total=11)
    first, second = mirror.chunks()
    assert first.end == 99 and first.ended is not None and not first.exact
    assert (second.start, second.end, second.ended) == (111, 210, None)  # still being processed
    assert mirror.credit(27.9, margin=10) <= 90  # the queue's room, not the room plus a chunk


def test_a_report_of_more_queued_than_the_chunk_in_progress_leaves_means_it_was_not_pulled_yet() -> None:
    # Chunk 0 (0..99) ended with a final at 2.6; the client then sent the next chunk's worth and a bit,
    # but the server was slow to pull (a busy loop): the report at 2.7 finds all 110 still queued. That
    # is no evidence that chunk 1 ENDED (it used to be read so, which opened the credit wide while the
    # queue was full: drops); chunk 1 is still in progress, credit shut.
    mirror = LaneMirror(tolerance_frames=TOLERANCE)
    mirror.sent(100, 2.0)
    mirror.final(0.0, 2.0, 2.6)
    mirror.sent(110, 2.62)
    mirror.metrics(100, 2.7)
    chunks = mirror.chunks()
    assert [(c.start, c.end, c.ended) for c in chunks] == [(0, 99, 2.6), (100, 199, None)]
    assert mirror.credit(3.0, margin=10) <= 90 - 10


def test_a_report_that_predates_the_latest_batch_does_not_end_the_chunk() -> None:
    # Chunk 0 ended with a final at 2.6; 100 more frames went by 3.13 (chunk 1 full: processing), then a
    # batch of 30 at 3.15; the report read at 3.16 was counted before that batch reached the queue: 0
    # queued, where the log says 30. That is no evidence that chunk 1 ended (it used to open the credit).
    mirror = LaneMirror(tolerance_frames=TOLERANCE)
    mirror.sent(100, 2.0)
    mirror.final(0.0, 2.0, 2.6)
    mirror.sent(100, 3.13)
    mirror.sent(30, 3.15)
    mirror.metrics(0, 3.16)
    last = mirror.chunks()[-1]
    assert (last.start, last.end, last.ended) == (100, 199, None)
    assert mirror.credit(3.2, margin=10) == 90 - 30
