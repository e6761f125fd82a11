"""The observable side of a session: what the server said, the transcript, the level, and the events.

Event-loop thread only, no I/O. ``app.session.lifecycle`` drives it (state changes, connections, frames sent)
and the transport feeds it server events; it publishes immutable ``SessionSnapshot``s on request and
``SessionEvent``s to listeners (a listener that raises is logged, never fatal).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping

from app.core.backpressure import BackpressureModel
from app.core.framing import Frame
from app.core.level import LevelReport
from app.core.messages import (
    CardsEvent,
    EntitiesEvent,
    ErrorEvent,
    FinalSummaryEvent,
    MetricsEvent,
    ServerEvent,
    Source,
    StatusEvent,
    StatusState,
    TranscriptEvent,
    UnrecognizedEvent,
)
from app.core.server_decoders import final_insights
from app.core.server_view import ServerView
from app.core.session_state import (
    ConnectionState,
    LevelChanged,
    ServerMetrics,
    ServerStatus,
    SessionEvent,
    SessionFailed,
    SessionSnapshot,
    SessionWarning,
    SourceCounters,
    StateChanged,
    StatusChanged,
    SummaryReady,
    ThrottleChanged,
    TranscriptChanged,
)
from app.core.status import StatusInputs, StatusModel
from app.core.throttle import ThrottleState
from app.core.transcript import TranscriptStore
from app.session.losses import LossBook

log = logging.getLogger(__name__)
Listener = Callable[[SessionEvent], None]
WARNINGS_KEPT = 8
THROTTLE_EVENT_INTERVAL = 0.5  # at most ~2 ThrottleChanged per second: "holding 4.2 s" changes constantly
STATUS_WORDS_INTERVAL = 1.0  # "Transcript 21 s behind" counts: its words go out at most once a second


class SessionModel:
    """State a session publishes. Times in events are seconds since ``t0``."""

    def __init__(self, session_id: str, clock: Callable[[], float]) -> None:
        self.session_id = session_id
        self._clock = clock
        self.t0 = clock()
        self.listeners: list[Listener] = []
        self.view: ServerView[Frame] | None = None  # the current connection's (server time -> capture time)
        self.losses = LossBook(lambda: self.t0, self.elapsed, self.emit)
        self.status = StatusModel(clock)
        self._status_at = -float("inf")
        self.input_dbfs: dict[str, float] = {}
        self.store = TranscriptStore(self._to_session_time, self._first_sent)
        self.backpressure = BackpressureModel(clock)
        self.report: LevelReport = self.backpressure.report()
        self.state, self.detail = ConnectionState.IDLE, ""
        self.error: str | None = None
        self.warnings: deque[str] = deque(maxlen=WARNINGS_KEPT)
        self.metrics: dict[str, MetricsEvent] = {}
        self.last_status: StatusEvent | None = None
        self.entities: EntitiesEvent | None = None
        self.cards: CardsEvent | None = None
        self.summary: FinalSummaryEvent | None = None
        self.summary_arrived = asyncio.Event()
        self.reconnects = 0
        self._drops_before = 0  # server-reported drops of finished connections
        self._drops_now = 0  # on the current connection (the server counts per connection)
        self._throttle_shown: tuple[bool, str, str] | None = None  # (enabled, mode, text) last emitted
        self._throttle_at = -float("inf")
        self._listener_failures: dict[Listener, int] = {}
        self._reporting = False  # a failure warning is being emitted

    # ------------------------------------------------------------------ driven by the session

    def elapsed(self) -> float:
        return max(0.0, self._clock() - self.t0)

    @property
    def server_dropped_frames(self) -> int:
        return self._drops_before + self._drops_now

    def _to_session_time(self, source: str, server_time: float, end: bool) -> tuple[float, float] | None:
        mapped = None if self.view is None else self.view.to_capture(source, server_time, end=end)
        return None if mapped is None else (mapped[0] - self.t0, mapped[1])

    def _first_sent(self) -> float | None:
        capture = None if self.view is None else self.view.time_map.start_time()
        return None if capture is None else capture - self.t0

    def new_connection(self, view: ServerView[Frame]) -> None:
        self.view = view
        self.store.new_connection(self.elapsed())
        self._drops_before += self._drops_now
        self._drops_now = 0

    def set_state(self, state: ConnectionState, detail: str = "") -> None:
        if (state, detail) == (self.state, self.detail):
            return
        self.state, self.detail = state, detail
        self.backpressure.on_connection(state)
        self.emit(StateChanged(self.elapsed(), state, detail))
        self.refresh_level()

    def fail(self, message: str, terminal: bool, fix_in_settings: bool = False) -> None:
        self.error = message
        log.error("session failed: %s", message)
        self.emit(SessionFailed(self.elapsed(), message, terminal, fix_in_settings))

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning("%s", message)
        self.emit(SessionWarning(self.elapsed(), message))

    def refresh_level(self) -> None:
        report = self.backpressure.report()
        changed = report.level != self.report.level
        self.report = report
        if changed:
            self.emit(LevelChanged(self.elapsed(), report))

    def refresh_status(self, held: Mapping[str, float], hold_share: Mapping[str, float],
                       input_dbfs: Mapping[str, float]) -> None:
        """The status light from everything known now (``app.core.status``); ``StatusChanged`` when the
        light changes, or its words, at most once per ``STATUS_WORDS_INTERVAL``."""
        self.input_dbfs = dict(input_dbfs)
        inputs = StatusInputs(self.state, self.report, held, hold_share, self.losses.spans(), self.elapsed(),
                              self.error, input_dbfs)
        before = self.status.report()
        after = self.status.update(inputs)
        now = self._clock()
        words = (after.headline, after.detail, after.silent_source) != (before.headline, before.detail,
                                                                          before.silent_source)
        if after.light is not before.light or (words and now - self._status_at >= STATUS_WORDS_INTERVAL):
            self._status_at = now
            self.emit(StatusChanged(self.elapsed(), after))

    def note_throttle(self, state: ThrottleState, *, force: bool = False) -> None:
        """Emit ``ThrottleChanged`` when throttling's text or mode changed, at most once per
        ``THROTTLE_EVENT_INTERVAL`` (call it regularly: a change held back goes out with a later call);
        ``force`` ignores the interval (the last word before the session ends)."""
        key = (state.enabled, state.mode.value, state.text)
        now = self._clock()
        if key == self._throttle_shown or (not force and now - self._throttle_at < THROTTLE_EVENT_INTERVAL):
            return
        if self._throttle_shown is None and not state.enabled:
            return  # throttling off from the start: nothing to say
        self._throttle_shown, self._throttle_at = key, now
        self.emit(ThrottleChanged(
            self.elapsed(), state.enabled, state.mode.value, state.text,
            held_seconds={s.source: round(s.held_seconds, 2) for s in state.sources},
            shed_seconds={s.source: round(s.shed_seconds, 2) for s in state.sources},
            skipped_seconds={s.source: round(s.skipped_seconds, 2) for s in state.sources},
        ))

    def emit(self, event: SessionEvent) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as exc:  # a listener bug must not take the session down, nor go unsaid
                self._listener_failed(listener, event, exc)

    def _listener_failed(self, listener: Listener, event: SessionEvent, exc: Exception) -> None:
        """Log a listener's first failure with its traceback, count the rest (a line at 2, 4, 8, ...),
        and at those counts warn: the user and the other listeners learn that events are lost."""
        count = self._listener_failures[listener] = self._listener_failures.get(listener, 0) + 1
        name, kind = getattr(listener, "__qualname__", type(listener).__name__), type(event).__name__
        if count == 1:
            log.error("session listener %s failed on %s; later failures are counted", name, kind,
                      exc_info=exc)
        elif count & (count - 1):  # not a power of two: counted only
            return
        else:
            log.error("session listener %s has failed %d times (latest on %s: %r)", name, count, kind, exc)
        if self._reporting:  # the warning below reaches the failing listener too
            return
        self._reporting = True
        try:
            self.warn(f"Internal error: a consumer of session events failed {count} time(s), the latest on "
                      f"{kind} ({type(exc).__name__}: {exc}); those events are lost. See the log.")
        finally:
            self._reporting = False

    def snapshot(self, sources: Mapping[Source, SourceCounters], throttle_note: str) -> SessionSnapshot:
        return SessionSnapshot(
            state=self.state, detail=self.detail, session_id=self.session_id, elapsed_seconds=self.elapsed(),
            level=self.report, last_status=self.last_status, metrics=dict(self.metrics), sources=sources,
            transcript=self.store.segments(), transcript_revision=self.store.revision,
            entities=self.entities, cards=self.cards,
            summary_markdown=self.summary.markdown if self.summary else None,
            reconnects=self.reconnects, server_dropped_frames=self.server_dropped_frames,
            error=self.error, warnings=tuple(self.warnings), throttle_note=throttle_note,
            losses=self.losses.spans(), status=self.status.report(), input_dbfs=dict(self.input_dbfs),
        )

    # ------------------------------------------------------------------ fed by the transport

    def on_server_event(self, event: ServerEvent) -> None:
        t = self.elapsed()
        if isinstance(event, StatusEvent):
            self._on_status(event, t)
        elif isinstance(event, MetricsEvent):
            self.metrics[event.source or Source.SYSTEM.value] = event
            self.backpressure.on_metrics(event)
            if event.dropped_total is not None:
                self._drops_now = max(self._drops_now, event.dropped_total)
            self.emit(ServerMetrics(t, event))
            self.refresh_level()
        elif isinstance(event, TranscriptEvent):
            self.emit(TranscriptChanged(t, self.store.apply(event)))
        elif isinstance(event, FinalSummaryEvent):
            added = self.store.merge_summary(event)
            self.summary = event
            self.cards, self.entities = final_insights(event, self.cards, self.entities)
            self.summary_arrived.set()
            log.info("final summary: the merge added %d transcript segments", added)
            self.emit(SummaryReady(t, event.markdown, len(self.store.finals)))
        elif isinstance(event, EntitiesEvent):
            self.entities = event
        elif isinstance(event, CardsEvent):
            self.cards = event
        elif isinstance(event, ErrorEvent):
            self.warn(f"Backend error: {event.message}")
        elif isinstance(event, UnrecognizedEvent):
            log.warning("unrecognized server message (%s): %s", event.reason, event.excerpt)
            self.warn(f"Ignored a server message: {event.reason}")

    def _on_status(self, event: StatusEvent, t: float) -> None:
        self.last_status = event
        self.backpressure.on_status(event)
        if event.dropped_frames is not None:
            self._drops_now = max(self._drops_now, event.dropped_frames)
        if event.known_state in (StatusState.WARNING, StatusState.NO_ASR_PROVIDER, None):
            self.warn(f"Backend {event.state}: {event.message}".rstrip(": "))
        self.emit(ServerStatus(t, event))
        self.refresh_level()
