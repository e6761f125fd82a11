"""The session transcript: finals plus one live partial per source, in SESSION time across connections.

Pure: no I/O. Why rebasing is needed (CONTRACT.md 4.3): a segment's ``t0``/``t1`` count the audio the
server processed for that source on ONE connection, restarting at 0 on every reconnect, and compressed
by audio the client never sent. The one map from server time to capture time is
``app.core.timemap.TimeMap`` (it also accounts for audio the server dropped); the store asks it, as
``mapper``, for segments of the current connection, and stores every segment in session time, so
segments of earlier connections need no map after their connection ended.

Fallback, for a segment whose source the map does not know (no ``source`` field, or no frame of it
sent on this connection): the session time of the first frame sent on the connection (``anchor``)
plus the server time; before any frame was sent, the time the connection was acknowledged plus the
server time. The fallback keeps nothing per frame.

``merge_summary`` adds the final summary's transcript (which covers only the last connection) to what
earlier connections produced, instead of replacing it as the macOS client does.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from app.core.messages import FinalSummaryEvent, TranscriptEvent
from app.core.session_state import TranscriptSegment

# (source, server time, is_end) -> (session time, error bound in seconds), or None
Mapper = Callable[[str, float, bool], tuple[float, float] | None]
APPROXIMATE_SECONDS = 0.25  # a segment whose times may be off by more is marked approximate
Anchor = Callable[[], float | None]  # session time of the first frame sent on the current connection
SAME_SEGMENT_TOLERANCE = 0.5  # seconds: a summary segment this close to a live one with the same text is it


@dataclass(slots=True)
class _Connection:
    index: int
    began: float  # session time the connection was acknowledged


class TranscriptStore:
    """Finals from every connection plus the live partial per source, with a revision counter.

    ``mapper`` rebases the CURRENT connection's times (``app.core.timemap.TimeMap``, shifted to
    session time); ``anchor`` says when the current connection's first frame was sent (see the
    module docstring for the fallback). Segments of earlier connections are stored in session time
    already, so they need neither. Memory: the segments themselves, one small record per connection.
    """

    def __init__(self, mapper: Mapper, anchor: Anchor) -> None:
        self._mapper = mapper
        self._anchor = anchor
        self._connections: list[_Connection] = []
        self._finals: list[TranscriptSegment] = []  # sorted by (t0, arrival)
        self._keys: list[tuple[float, int]] = []
        self._arrivals = 0
        self._partials: dict[str, TranscriptSegment] = {}
        self.revision = 0
        self._cache: tuple[TranscriptSegment, ...] | None = ()

    def new_connection(self, began: float = 0.0) -> int:
        """A new connection, acknowledged at session time ``began``; partials of the previous one are
        dropped. Returns its index."""
        self._connections.append(_Connection(len(self._connections), began))
        if self._partials:
            self._partials.clear()
            self._changed()
        return len(self._connections) - 1

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
        t0, e0 = self._to_session(conn, source, event.t0, False)
        t1, e1 = self._to_session(conn, source, event.t1, True)
        t1 = max(t0, t1)
        error = max(e0, e1)
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
            approximate=error > APPROXIMATE_SECONDS,
            error_seconds=round(error, 3),
        )

    def _to_session(self, conn: _Connection, source: str, server_time: float,
                    end: bool) -> tuple[float, float]:
        """(session time, error bound). Only the current connection's segments are rebased (older ones
        arrived in session time). Never before the session began."""
        mapped = self._mapper(source, server_time, end)
        if mapped is not None:
            return max(0.0, mapped[0]), mapped[1]
        anchor = self._anchor()  # a source the map does not know: from the connection's first frame
        return (conn.began if anchor is None else anchor) + max(0.0, server_time), 0.0

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

