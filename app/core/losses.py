"""The vocabulary of lost audio: where each second of speech that will never be transcribed went.

Promise 1 of the product: nothing is lost silently. Every loss is counted per source, by cause, and
located in session time (``LossSpan``), so the window, the history, the exports and the headless
``session_end`` can say "00:20-00:33 not transcribed: backend overloaded" instead of a transcript that
silently jumps. "Sent" never means "transcribed": audio the server dropped, or that sat in a dead
connection, is a loss even though the client sent it.

Pure data plus the small ledger that collects spans (merging adjacent ones of the same source and cause).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class LossCause(enum.StrEnum):
    SERVER_DROP = "server_drop"  # the backend dropped it from its queue to stay live (overloaded)
    CLIENT_SHED = "client_shed"  # the client's own bounded hold was full and shed it
    IN_TRANSIT = "in_transit"  # sent on a connection that ended before the backend consumed it
    CAPTURE = "capture"  # the device or the audio hand-off lost it before framing (a stalled loop)
    STOP_TAIL = "stop_tail"  # the last audio sent, too short for the recognizer at stop (app.core.stop_pad)

    @property
    def reason(self) -> str:
        """Plain words for people: "not transcribed: <reason>"."""
        return {
            LossCause.SERVER_DROP: "backend overloaded",
            LossCause.CLIENT_SHED: "held audio exceeded its limit",
            LossCause.IN_TRANSIT: "connection lost",
            LossCause.CAPTURE: "audio capture fell behind",
            LossCause.STOP_TAIL: "too short for the backend at stop",
        }[self]


@dataclass(frozen=True, slots=True)
class LossSpan:
    """Audio of ``source`` captured between ``start`` and ``end`` (session seconds) that was lost.

    ``approximate``: the contract did not carry enough to place it exactly (its bounds may be off by
    up to ``error_seconds``); its length is still counted exactly where the server reports counts.
    """

    source: str
    start: float
    end: float
    cause: LossCause
    approximate: bool = False
    error_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True, slots=True)
class SourceLosses:
    """One source's losses over a whole session (``session_end``)."""

    server_dropped_seconds: float = 0.0
    client_shed_seconds: float = 0.0
    lost_in_transit_seconds: float = 0.0
    capture_lost_seconds: float = 0.0
    spans: tuple[LossSpan, ...] = ()
    stop_tail_seconds: float = 0.0

    @property
    def total_seconds(self) -> float:
        return (self.server_dropped_seconds + self.client_shed_seconds + self.lost_in_transit_seconds
                + self.capture_lost_seconds + self.stop_tail_seconds)


MERGE_GAP_SECONDS = 0.25  # spans of one source and cause closer than this are one span


@dataclass(slots=True)
class LossLedger:
    """Collects spans; ``add`` merges a span into an adjacent or overlapping one of its source and cause."""

    spans: list[LossSpan] = field(default_factory=list)

    def add(self, span: LossSpan) -> LossSpan:
        """Record ``span``; returns the span as now stored (possibly merged with a neighbour)."""
        for i in range(len(self.spans) - 1, -1, -1):
            old = self.spans[i]
            if (old.source, old.cause) != (span.source, span.cause):
                continue
            if span.start <= old.end + MERGE_GAP_SECONDS and old.start <= span.end + MERGE_GAP_SECONDS:
                merged = LossSpan(span.source, min(old.start, span.start), max(old.end, span.end), span.cause,
                                  old.approximate or span.approximate,
                                  max(old.error_seconds, span.error_seconds))
                self.spans[i] = merged
                return merged
            if old.end < span.start - 60.0:
                break  # spans arrive roughly in time order: no need to look further back
        self.spans.append(span)
        return span

    def by_source(self, sources: Iterable[str]) -> Mapping[str, SourceLosses]:
        out = {}
        for source in sources:
            mine = tuple(sorted((s for s in self.spans if s.source == source), key=lambda s: s.start))

            def total(cause: LossCause, spans: tuple[LossSpan, ...] = mine) -> float:
                return round(sum(s.seconds for s in spans if s.cause is cause), 3)

            out[source] = SourceLosses(total(LossCause.SERVER_DROP), total(LossCause.CLIENT_SHED),
                                       total(LossCause.IN_TRANSIT), total(LossCause.CAPTURE), mine,
                                       total(LossCause.STOP_TAIL))
        return out
