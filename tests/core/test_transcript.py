"""Transcript store: rebasing server times to session time across connections, merging the summary."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from testkit import transcript_text

from app.core.flow import FlowConfig
from app.core.messages import FinalSummaryEvent, TranscriptEvent
from app.core.server_view import ServerView
from app.core.transcript import TranscriptStore


def final(
    text: str, t0: float, t1: float, source: str = "mic", segment_id: str | None = None
) -> TranscriptEvent:
    return TranscriptEvent(True, text, t0, t1, source=source, segment_id=segment_id)


@dataclass(frozen=True)
class Sent:
    source: str
    capture_time: float
    index: int
    pcm: bytes


class Store(TranscriptStore):
    """The store as the session wires it: the current connection's view (session time = capture time
    here), renewed with every connection."""

    def __init__(self) -> None:
        self.view: ServerView[Sent] = ServerView(FlowConfig(), 0.0)
        super().__init__(lambda s, t, end: self.view.to_capture(s, t, end=end),
                         lambda: self.view.time_map.start_time())

    def new_connection(self, began: float = 0.0) -> int:
        self.view = ServerView(FlowConfig(), 0.0)
        return super().new_connection(began)


def send(store: Store, source: str, indices: range | list[int], capture0: float) -> None:
    """Frames of ``source`` with these indices sent; frame i was captured at capture0 + i * 0.02."""
    store.view.record_sent([Sent(source, capture0 + i * 0.02, i, b"") for i in indices], 0.0)


def test_first_connection_maps_server_time_to_capture_time() -> None:
    store = Store()
    store.new_connection()
    send(store, "mic", range(0, 500), capture0=0.7)  # capture started 0.7 s into the session
    seg = store.apply(final("hello", 1.0, 2.0))
    assert (seg.t0, seg.t1) == pytest.approx((1.7, 2.7))


def test_second_connection_restarts_at_zero_and_is_rebased_after_the_first() -> None:
    store = Store()
    assert store.new_connection() == 0
    send(store, "mic", range(0, 500), capture0=0.0)  # 10 s on connection 0
    store.apply(final("before", 2.0, 3.0))
    assert store.new_connection() == 1
    # backend gone for 3 s; the client kept buffering, so connection 1 starts with frame 500 (t=10 s)
    send(store, "mic", range(500, 1000), capture0=0.0)
    seg = store.apply(final("after", 1.0, 1.5))  # server time restarts at 0
    assert seg.connection_index == 1
    assert (seg.t0, seg.t1) == pytest.approx((11.0, 11.5))
    assert [s.text for s in store.segments()] == ["before", "after"]


def test_frames_dropped_by_the_client_are_accounted_for() -> None:
    store = Store()
    store.new_connection()
    # frames 0-99 sent, 100-199 dropped by the client buffer, 200-299 sent
    send(store, "system", list(range(0, 100)) + list(range(200, 300)), capture0=0.0)
    seg = store.apply(final("late words", 2.5, 3.0, source="system"))  # server time 2.5 = sent frame 125
    assert (seg.t0, seg.t1) == pytest.approx((4.5, 5.0))


def test_sources_have_their_own_timelines() -> None:
    store = Store()
    store.new_connection()
    send(store, "mic", range(0, 100), capture0=1.0)
    send(store, "system", range(0, 100), capture0=0.0)
    assert store.apply(final("m", 0.5, 0.6, "mic")).t0 == pytest.approx(1.5)
    assert store.apply(final("s", 0.5, 0.6, "system")).t0 == pytest.approx(0.5)


def test_partial_is_replaced_by_the_next_partial_or_final_of_its_source() -> None:
    store = Store()
    store.new_connection()
    send(store, "mic", range(0, 100), 0.0)
    store.apply(TranscriptEvent(False, "hel", 0.0, 0.2, source="mic"))
    store.apply(TranscriptEvent(False, "hello wo", 0.0, 0.5, source="mic"))
    store.apply(TranscriptEvent(False, "sys partial", 0.0, 0.5, source="system"))
    texts = [(s.text, s.is_final) for s in store.segments()]
    assert texts == [("hello wo", False), ("sys partial", False)]
    rev = store.revision
    store.apply(final("hello world", 0.0, 0.9))
    assert [(s.text, s.is_final) for s in store.segments()] == [("hello world", True), ("sys partial", False)]
    assert store.revision > rev
    store.new_connection()  # partials of a dead connection never finalise
    assert [s.text for s in store.segments()] == ["hello world"]


def test_finals_are_ordered_by_session_time() -> None:
    store = Store()
    store.new_connection()
    send(store, "mic", range(0, 500), 0.0)
    send(store, "system", range(0, 500), 0.0)
    store.apply(final("second", 3.0, 4.0, "mic"))
    store.apply(final("first", 1.0, 2.0, "system"))
    store.apply(final("third", 5.0, 6.0, "system"))
    assert [s.text for s in store.segments()] == ["first", "second", "third"]


def test_summary_is_merged_not_allowed_to_replace_earlier_connections() -> None:
    store = Store()
    store.new_connection()
    send(store, "mic", range(0, 250), 0.0)
    store.apply(final("from the first connection", 1.0, 2.0))
    store.new_connection()
    send(store, "mic", range(250, 500), 0.0)
    store.apply(final("live on the second", 0.5, 1.0, segment_id="s1"))
    summary = FinalSummaryEvent(
        markdown="# Summary",
        transcript=(
            final("live on the second", 0.5, 1.0, segment_id="s1"),  # already have it
            final("flushed at stop", 4.0, 4.8),  # only in the summary
        ),
    )
    assert store.merge_summary(summary) == 1
    texts = [s.text for s in store.segments()]
    assert texts == ["from the first connection", "live on the second", "flushed at stop"]
    flushed = store.segments()[-1]
    assert flushed.connection_index == 1 and flushed.t0 == pytest.approx(9.0)
    assert transcript_text(store.segments(), "mic").startswith("from the first connection")


def test_summary_matching_without_segment_ids_uses_text_and_time() -> None:
    store = Store()
    store.new_connection()
    send(store, "mic", range(0, 250), 0.0)
    store.apply(final("same words", 1.0, 2.0))
    summary = FinalSummaryEvent(transcript=(final("same words", 1.1, 2.0), final("same words", 3.0, 3.5)))
    assert store.merge_summary(summary) == 1  # the repeat later in time is a different segment
    assert len(store.finals) == 2


def test_timeline_without_frames_has_no_mapping_and_store_falls_back() -> None:
    assert ServerView(FlowConfig(), 0.0).to_capture("mic", 1.0) is None
    store = Store()
    store.new_connection()
    send(store, "mic", range(0, 10), 2.0)
    seg = store.apply(final("no source field", 0.1, 0.2, source=""))
    assert seg.t0 == pytest.approx(2.1)  # anchored at the first audio sent on the connection


def test_times_the_mirror_cannot_place_exactly_are_marked_approximate() -> None:
    store = Store()
    store.new_connection()
    send(store, "mic", range(0, 300), 0.0)
    store.view = _Uncertain(store.view)  # type: ignore[assignment]
    seg = store.apply(final("unsure", 1.0, 2.0))
    assert seg.approximate and seg.error_seconds == pytest.approx(0.6)
    assert (seg.t0, seg.t1) == pytest.approx((1.0, 2.0))


class _Uncertain:
    """A view whose mapping is 0.6 s uncertain (a chunk end only estimated; see test_server_view)."""

    def __init__(self, view: ServerView[Sent]) -> None:
        self._view = view
        self.time_map = view.time_map

    def to_capture(self, source: str, seconds: float, *, end: bool = False) -> tuple[float, float] | None:
        mapped = self._view.to_capture(source, seconds, end=end)
        return None if mapped is None else (mapped[0], 0.6)
