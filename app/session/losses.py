"""Where every lost second of a session went: counted per source and cause, located in session time.

Event-loop thread only, no I/O. The session reports each loss as it learns of it: frames its holds shed
(client), frames a dead connection took with it (in transit), audio the devices lost (capture), and
the server's drops on each connection as its lane mirror finds them (``app.core.server_view``). Those
of the current connection are re-derived as evidence comes in (``live_server_drops``) and become final
when the connection ends (``final_server_drops``: only what will not be sent again). ``LossRecorded``
events go out when a span appears or grows by ``GROWTH_SECONDS``; the snapshot and ``session_end``
carry all of them (``app.core.losses``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from app.core.framing import Frame
from app.core.losses import MERGE_GAP_SECONDS, LossCause, LossLedger, LossSpan, SourceLosses
from app.core.messages import FRAME_SECONDS
from app.core.server_view import CaptureSpan
from app.core.session_state import LossRecorded, SessionEvent

GROWTH_SECONDS = 0.5  # a live span is announced again when it has grown this much


class LossBook:
    def __init__(self, t0: Callable[[], float], elapsed: Callable[[], float],
                 emit: Callable[[SessionEvent], None]) -> None:
        """``t0``: the session's start on the capture clock; times in spans are seconds since it."""
        self._t0 = t0
        self._elapsed = elapsed
        self._emit = emit
        self.ledger = LossLedger()
        self._live: dict[str, list[LossSpan]] = {}
        self._announced: dict[tuple[str, LossCause, float], float] = {}  # (source, cause, start) -> end

    def frames(self, source: str, frames: Sequence[Frame], cause: LossCause, *,
               approximate: bool = False) -> None:
        """Frames of ``source`` lost for ``cause``, in capture order (runs become spans)."""
        for start, end in _runs(frames):
            self._add(LossSpan(source, start - self._t0(), end - self._t0(), cause, approximate))

    def capture_lost(self, source: str, seconds: float, newest_capture: float) -> None:
        """The device or hand-off lost ``seconds`` somewhere before ``newest_capture`` (placed just
        before it, approximately)."""
        end = max(0.0, newest_capture - self._t0())
        self._add(LossSpan(source, max(0.0, end - seconds), end, LossCause.CAPTURE, True, seconds))

    def live_server_drops(self, source: str, spans: Iterable[CaptureSpan]) -> None:
        """The current connection's server drops of ``source`` as now known (replaces the last call)."""
        live = [self._span(source, s) for s in spans]
        self._live[source] = live
        for span in live:
            self._announce(span)

    def final_server_drops(self, sources: Mapping[str, Iterable[CaptureSpan]]) -> None:
        """The connection ended: these drops are final (audio after them is sent again)."""
        for source, spans in sources.items():
            for span in spans:
                self._add(self._span(source, span))
        self._live.clear()

    def spans(self) -> tuple[LossSpan, ...]:
        live = [span for spans in self._live.values() for span in spans]
        return tuple(sorted((*self.ledger.spans, *live), key=lambda s: (s.start, s.source)))

    def by_source(self, sources: Iterable[str]) -> Mapping[str, SourceLosses]:
        ledger = LossLedger(list(self.ledger.spans))
        for spans in self._live.values():
            for span in spans:
                ledger.add(span)
        return ledger.by_source(sources)

    def _span(self, source: str, span: CaptureSpan) -> LossSpan:
        return LossSpan(source, max(0.0, span.start - self._t0()), max(0.0, span.end - self._t0()),
                        LossCause.SERVER_DROP, not span.exact, round(span.error_seconds, 3))

    def _add(self, span: LossSpan) -> None:
        if span.seconds > 0:
            self._announce(self.ledger.add(span))

    def _announce(self, span: LossSpan) -> None:
        key = (span.source, span.cause, round(span.start, 1))
        shown = self._announced.get(key)
        if shown is None or span.end - shown >= GROWTH_SECONDS:
            self._announced[key] = span.end
            self._emit(LossRecorded(self._elapsed(), span))


def _runs(frames: Sequence[Frame]) -> list[tuple[float, float]]:
    """Capture-time runs of frames (gaps under ``MERGE_GAP_SECONDS`` joined): (start, end)."""
    runs: list[tuple[float, float]] = []
    for frame in frames:
        start, end = frame.capture_time, frame.capture_time + FRAME_SECONDS
        if runs and start - runs[-1][1] <= MERGE_GAP_SECONDS:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs
