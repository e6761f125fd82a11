"""The session transcript: finals plus one live partial per source, in SESSION time across connections.

Pure: no I/O. Why rebasing is needed (CONTRACT.md 4.3): a segment's ``t0``/``t1`` count the audio the
server processed for that source on ONE connection, restarting at 0 on every reconnect, and compressed
by audio the client never sent. ``SourceTimeline`` remembers, per connection and source, which frames
were sent in which order (a breakpoint whenever frame indices jump, i.e. the client dropped frames)
and maps a server time back to the capture time of the audio it refers to. Audio the SERVER dropped
cannot be located and still compresses times; that is the contract's limit, not ours.

``merge_summary`` adds the final summary's transcript (which covers only the last connection) to what
earlier connections produced, instead of replacing it as the macOS client does.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from app.core.messages import FinalSummaryEvent, TranscriptEvent
from app.core.session_state import TranscriptSegment

FRAME_SECONDS = 0.02
Mapper = Callable[[str, float], float | None]  # (source, server time) -> session time, or None
SAME_SEGMENT_TOLERANCE = 0.5  # seconds: a summary segment this close to a live one with the same text is it


class SourceTimeline:
    """Server time on one connection for one source -> session time of the audio it refers to."""

    def __init__(self, frame_seconds: float = FRAME_SECONDS) -> None:
        self.frame_seconds = frame_seconds
        self._positions: list[int] = []  # sent-frame position where each breakpoint starts
        self._times: list[float] = []  # session time of the frame sent at that position
        self._last_index: int | None = None
        self.sent = 0

    def note_sent(self, frame_index: int, session_time: float) -> None:
        """Record one frame sent on this connection; a gap in ``frame_index`` starts a breakpoint."""
        if self._last_index is None or frame_index != self._last_index + 1:
            self._positions.append(self.sent)
            self._times.append(session_time)
        self._last_index = frame_index
        self.sent += 1

    @property
    def start_time(self) -> float | None:
        return self._times[0] if self._times else None

    def to_session(self, server_time: float) -> float | None:
        if not self._times:
            return None
        position = max(0.0, server_time) / self.frame_seconds
        i = max(0, bisect.bisect_right(self._positions, position + 1e-9) - 1)
        return self._times[i] + (position - self._positions[i]) * self.frame_seconds


@dataclass(slots=True)
class _Connection:
    index: int
    timelines: dict[str, SourceTimeline] = field(default_factory=dict)

    def to_session(self, source: str, server_time: float) -> float:
        timeline = self.timelines.get(source)
        rebased = timeline.to_session(server_time) if timeline else None
        if rebased is not None:
            return rebased
        # unknown or missing source: anchor at the first audio sent on this connection, if any
        starts = [t.start_time for t in self.timelines.values() if t.start_time is not None]
        return (min(starts) if starts else 0.0) + max(0.0, server_time)


class TranscriptStore:
    """Finals from every connection plus the live partial per source, with a revision counter.

    ``mapper``, if given, rebases the CURRENT connection's times first (the throttle's ``TimeMap``
    also accounts for audio the server dropped); the store's own timelines are the fallback.
    """

    def __init__(self, frame_seconds: float = FRAME_SECONDS, mapper: Mapper | None = None) -> None:
        self._frame_seconds = frame_seconds
        self._mapper = mapper
        self._connections: list[_Connection] = []
        self._finals: list[TranscriptSegment] = []  # sorted by (t0, arrival)
        self._keys: list[tuple[float, int]] = []
        self._arrivals = 0
        self._partials: dict[str, TranscriptSegment] = {}
        self.revision = 0
        self._cache: tuple[TranscriptSegment, ...] | None = ()

    def new_connection(self) -> int:
        """Start mapping a new connection; partials of the previous one are dropped. Returns its index."""
        self._connections.append(_Connection(len(self._connections)))
        if self._partials:
            self._partials.clear()
            self._changed()
        return len(self._connections) - 1

    def note_sent(self, source: str, frame_index: int, session_time: float) -> None:
        """Record a frame sent on the current connection (``session_time`` = its capture time)."""
        conn = self._current()
        timeline = conn.timelines.get(source)
        if timeline is None:
            timeline = conn.timelines[source] = SourceTimeline(self._frame_seconds)
        timeline.note_sent(frame_index, session_time)

    def apply(self, event: TranscriptEvent) -> TranscriptSegment:
        """Rebase an ``asr_final``/``asr_partial`` of the current connection and store it."""
        segment = self._rebase(self._current(), event)
        self._partials.pop(segment.source, None)  # a final or a newer partial replaces the partial
        if event.is_final:
            self._insert(segment)
        else:
            self._partials[segment.source] = segment
        self._changed()
        return segment

    def merge_summary(self, summary: FinalSummaryEvent) -> int:
        """Merge the summary's transcript (current connection only); returns how many segments it added.

        Segments already received live are kept as they are; the summary only fills in what is missing.
        """
        conn = self._current()
        live = [s for s in self._finals if s.connection_index == conn.index]
        added = 0
        for event in summary.transcript:
            segment = self._rebase(conn, event)
            if segment.text.strip() and not any(_same(segment, seen) for seen in live):
                self._insert(segment)
                live.append(segment)
                added += 1
        if added or self._partials:
            self._partials.clear()  # the connection is over: a partial would never be finalised now
            self._changed()
        return added

    def segments(self) -> tuple[TranscriptSegment, ...]:
        """Finals in session-time order, then the live partial of each source."""
        if self._cache is None:
            self._cache = (*self._finals, *sorted(self._partials.values(), key=lambda s: s.source))
        return self._cache

    @property
    def finals(self) -> tuple[TranscriptSegment, ...]:
        return tuple(self._finals)

    def _current(self) -> _Connection:
        if not self._connections:
            self.new_connection()
        return self._connections[-1]

    def _rebase(self, conn: _Connection, event: TranscriptEvent) -> TranscriptSegment:
        source = event.source or ""
        t0 = self._to_session(conn, source, event.t0)
        t1 = max(t0, self._to_session(conn, source, event.t1))
        return TranscriptSegment(
            source=source,
            text=event.text,
            t0=t0,
            t1=t1,
            is_final=event.is_final,
            connection_index=conn.index,
            segment_id=event.segment_id,
            speaker=event.speaker,
            confidence=event.confidence,
        )

    def _to_session(self, conn: _Connection, source: str, server_time: float) -> float:
        if self._mapper is not None and conn is self._connections[-1]:
            mapped = self._mapper(source, server_time)
            if mapped is not None:
                return mapped
        return conn.to_session(source, server_time)

    def _insert(self, segment: TranscriptSegment) -> None:
        key = (segment.t0, self._arrivals)
        self._arrivals += 1
        at = bisect.bisect_right(self._keys, key)
        self._keys.insert(at, key)
        self._finals.insert(at, segment)

    def _changed(self) -> None:
        self.revision += 1
        self._cache = None


def _same(a: TranscriptSegment, b: TranscriptSegment) -> bool:
    if a.segment_id and b.segment_id and a.source == b.source:
        return a.segment_id == b.segment_id
    return (
        a.source == b.source
        and a.text.strip() == b.text.strip()
        and abs(a.t0 - b.t0) <= SAME_SEGMENT_TOLERANCE
    )


def transcript_text(segments: Iterable[TranscriptSegment], source: str | None = None) -> str:
    """The finals' text joined with spaces, optionally for one source (for tests and plain exports)."""
    return " ".join(s.text.strip() for s in segments if s.is_final and (source is None or s.source == source))
