"""What this client knows of the server side of ONE connection, and what each source may send next.

Per source: a ``LaneMirror`` (``app.core.server_lane``: the server's chunked consumption replayed over
our send log), the ``TimeMap`` of what was sent, and the resend window (the frames sent that the
server may not have consumed yet); for the connection: ``FlowControl`` (``app.core.flow``). The session
feeds it every frame it writes and every server message, and asks it, every tick, how many frames
each source may send; when a final arrives, where its audio was captured; when the connection ends,
what to send again on the next one and what was lost for good.

Server time -> capture time: a final's ``t0``/``t1`` are positions on the source's processed timeline
(CONTRACT.md 4.3); the mirror turns them into sent positions (skipping the server's drops), the time
map into capture times. The error bound comes from chunks whose end the evidence only estimates.
Times never go past the end of a source's audio once the stop padding begins (``audio_ends``); a time
in the padding maps to the end of the last real frame sent before it (``app.core.timemap``).

The resend window keeps every frame from the lane's ``consumed()`` position on (at most
``resend_seconds``): after a crash or a stall the next connection gets them again with their capture
times, so nothing the client still had is lost and timestamps stay true; what the old connection had
already transcribed lies before ``consumed()`` and is not sent twice.

Pure, event-loop thread; the caller passes the times.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Generic

from app.core.flow import FlowConfig, FlowControl
from app.core.hold import F
from app.core.lane_history import RECENT_CHUNKS
from app.core.messages import FRAME_BYTES, FRAME_SECONDS, MetricsEvent, ServerEvent, TranscriptEvent
from app.core.server_lane import TOLERANCE_FRAMES, LaneMirror
from app.core.shared_recognizer import SharedRecognizer
from app.core.stop_pad import MIN_FINAL_FRAMES
from app.core.timemap import TimeMap

RESEND_SECONDS = 30.0
APPROXIMATE_ERROR_SECONDS = 0.25  # a mapped time this uncertain is shown as approximate


@dataclass(frozen=True, slots=True)
class CaptureSpan:
    """Sent positions ``first..last`` of a source, as capture times (``end`` = end of the last frame)."""

    start: float
    end: float
    exact: bool
    error_seconds: float = 0.0


@dataclass(slots=True)
class _Source(Generic[F]):
    mirror: LaneMirror
    window: deque[F] = field(default_factory=deque)  # frames sent from position ``base`` on
    base: int = 0  # sent position of window[0]
    evicted: deque[F] = field(default_factory=deque)  # positions base - len .. base - 1: not kept to resend


class ServerView(Generic[F]):
    """See the module docstring."""

    def __init__(self, flow: FlowConfig, opened_at: float, *, chunk_frames: int | None = None,
                 resend_seconds: float = RESEND_SECONDS, reports_load: bool = False) -> None:
        """``reports_load``: the backend is known to report its load (the previous connection's did),
        so its queue's credit applies from the first frame (the backlog after a reconnect, sent into a
        recognizer whose first chunk is not seen through yet), not only from its first metrics."""
        self.flow = FlowControl(flow, opened_at)
        self._expects_load = reports_load
        self.time_map = TimeMap()
        self._chunk_frames = chunk_frames
        self._window_frames = max(1, round(resend_seconds / FRAME_SECONDS))
        self._tolerance = TOLERANCE_FRAMES + math.ceil(flow.tick_seconds / FRAME_SECONDS)
        self._sources: dict[str, _Source[F]] = {}
        self._shared = SharedRecognizer()
        self._audio_end: dict[str, float] = {}  # per source: capture end of its last real frame

    def _source(self, source: str) -> _Source[F]:
        lane = self._sources.get(source)
        if lane is None:
            mirror = LaneMirror(self._chunk_frames, tolerance_frames=self._tolerance)
            lane = self._sources[source] = _Source(mirror)
        return lane

    def mirror(self, source: str) -> LaneMirror:
        return self._source(source).mirror

    # ------------------------------------------------------------------ inputs

    def record_sent(self, frames: list[F], at: float) -> None:
        """Frames written to the socket at ``at``, in order (any sources)."""
        counts: dict[str, int] = {}
        for frame in frames:
            self.time_map.record_sent(frame)
            lane = self._source(frame.source)
            lane.window.append(frame)
            counts[frame.source] = counts.get(frame.source, 0) + 1
        for source, count in counts.items():
            lane = self._source(source)
            lane.mirror.sent(count, at)
            self._trim(lane)

    def on_metrics(self, source: str, queued_frames: int | None, dropped_total: int | None,
                   at: float) -> None:
        self.heard(at, metrics=True)
        if queued_frames is not None:
            self._source(source).mirror.metrics(queued_frames, at, dropped_total)

    def on_final(self, source: str, t0: float, t1: float, at: float) -> None:
        self.heard(at)
        self._source(source).mirror.final(t0, t1, at)

    def heard(self, at: float, *, metrics: bool = False) -> None:
        """Any server message (``metrics``: a metrics message): the server is alive, and after a
        stall every lane learns that what sat in the socket reached it now."""
        self.flow.heard(at, metrics=metrics)
        for lane in self._sources.values():
            lane.mirror.heard(at)

    def on_event(self, event: ServerEvent, at: float) -> None:
        """Any server message of this connection, received at ``at`` (before the session maps a final's
        times: the final must be in the mirror first)."""
        if isinstance(event, MetricsEvent):
            queued = event.queue_bytes
            if queued is None and event.fill_ratio is not None and event.queue_bytes_max:
                queued = round(event.fill_ratio * event.queue_bytes_max)
            frames = None if queued is None else round(queued / FRAME_BYTES)
            self.on_metrics(event.source or "system", frames, event.dropped_total, at)
        elif isinstance(event, TranscriptEvent) and event.is_final and event.source:
            self.on_final(event.source, event.t0, event.t1, at)
        else:
            self.heard(at)

    def audio_ends(self, source: str, at: float) -> None:
        """``source``'s audio ends at capture time ``at``: what is sent after it is stop padding
        (``app.core.stop_pad``), and no time this view answers lies beyond it."""
        self._audio_end[source] = at

    # ------------------------------------------------------------------ flow control

    def allowance(self, source: str, now: float, *, throttled: bool, flushing: bool) -> int:
        """Frames ``source`` may send now (``app.core.flow``); the caller reports them with ``spent``."""
        lane = self._source(source)
        # a fresh connection is judged as one that reports its load (until it proves it does not), and one
        # to a backend that reported it before always is
        if self._expects_load or not self.flow.judged_without_metrics(now):
            credit = lane.mirror.credit(now, self.flow.config.margin_frames)
        else:  # a backend that reports no load: the ceiling alone (and the socket's backpressure)
            credit = 10**9
        return self.flow.lane(source).allowance(now, credit, throttled=throttled or flushing,
                                                live=self.flow.live(now))

    def spent(self, source: str, frames: int) -> None:
        self.flow.lane(source).spent(frames)

    def drain_rate(self, source: str, *, slowest: bool = False) -> float | None:
        """How fast the backend consumed this source, x real time (chunk / processing time of recent
        chunks: their median, or with ``slowest`` the slowest of the last few, for a budget that must
        not run out when the backend has just slowed down), or None before a chunk was seen through."""
        mirror = self._source(source).mirror
        recent = mirror.processing_times()
        if not recent:
            return None
        times = sorted(recent)
        taken = max(recent[-RECENT_CHUNKS:]) if slowest else times[len(times) // 2]
        return mirror.chunk_frames * FRAME_SECONDS / max(taken, 0.001)

    @property
    def reports_load(self) -> bool:
        """Whether this backend reports its load (seen, or known from an earlier connection)."""
        return self.flow.reports_load or self._expects_load

    def shared_recognizer(self) -> bool:
        """Whether the two sources look served by ONE recognizer (``app.core.shared_recognizer``: the
        real server can be configured so); False until the chunks show it clearly."""
        return self._shared.judge({s: lane.mirror.chunks() for s, lane in self._sources.items()})

    # ------------------------------------------------------------------ answers

    def to_capture(self, source: str, server_seconds: float, *,
                   end: bool = False) -> tuple[float, float] | None:
        """(capture time, error bound in seconds) of processed time ``server_seconds`` of ``source`` on
        this connection; ``end``: the instant a segment ends (the end of its last frame). None before
        anything of ``source`` was sent."""
        lane = self._sources.get(source)
        if lane is None:
            return None
        processed = max(0.0, server_seconds) / FRAME_SECONDS
        if end and processed >= 1:
            position, uncertain = lane.mirror.position(processed - 1)
            position += 1
        else:
            position, uncertain = lane.mirror.position(processed)
        captured = self.time_map.capture_time(source, position)
        if captured is None:
            return None
        return min(captured, self._audio_end.get(source, math.inf)), uncertain * FRAME_SECONDS

    def dropped(self, source: str, *, before: int | None = None, counted: bool = False) -> list[CaptureSpan]:
        """The server's drops of ``source`` on this connection as capture spans; ``before``: only those
        at sent positions below it (at a connection's end: what will not be sent again); ``counted``:
        only those the server's count has confirmed (live, ``LaneMirror.dropped_spans``)."""
        lane = self._sources.get(source)
        if lane is None:
            return []
        spans = []
        for first, last, exact in lane.mirror.dropped_spans(counted=counted):
            if before is not None and first >= before:
                break
            last = last if before is None else min(last, before - 1)
            start = self.time_map.capture_time(source, first)
            stop = self.time_map.capture_time(source, last + 1)
            if start is None or stop is None:
                continue
            limit = self._audio_end.get(source, math.inf)  # a drop of stop padding is no loss
            start, stop = min(start, limit), min(stop, limit)
            if stop <= start:
                continue
            error = 0.0 if exact else lane.mirror.max_uncertainty() * FRAME_SECONDS
            spans.append(CaptureSpan(start, stop, exact, error))
        return spans

    def stop_tail(self, source: str, min_final: int = MIN_FINAL_FRAMES) -> tuple[list[F], bool]:
        """After ``stop`` was processed: the frames sent last that the recognizer's end-of-stream rule
        discards (what follows the last whole chunk, if shorter than ``min_final``; ``app.core.stop_pad``),
        in order, and whether that is exact (every chunk's place known). Only the real ones are lost:
        the caller drops the padding."""
        lane = self._sources.get(source)
        if lane is None:
            return [], True
        mirror = lane.mirror
        processed = mirror.sent_frames - mirror.dropped_frames()
        rest = processed % mirror.chunk_frames
        if rest == 0 or rest >= min_final:
            return [], True
        self._trim(lane)
        return list(lane.window)[-rest:], mirror.max_uncertainty() == 0

    def dropped_frames(self, source: str, *, counted: bool = False) -> int:
        lane = self._sources.get(source)
        return 0 if lane is None else lane.mirror.dropped_frames(counted=counted)

    def sources(self) -> list[str]:
        return list(self._sources)

    def unconsumed(self, source: str) -> list[F]:
        """The frames to send again after this connection ended: sent, and not known to have left
        the server's queue (in order)."""
        lane = self._sources.get(source)
        if lane is None:
            return []
        self._trim(lane)
        return list(lane.window)

    def window_frames(self, source: str) -> int:
        """Frames the resend window keeps for ``source`` now (sent, not known consumed)."""
        lane = self._sources.get(source)
        return 0 if lane is None else len(lane.window)

    def unprotected(self, source: str) -> list[F]:
        """Frames sent and not known consumed that the resend window no longer holds: lost if this
        connection dies (in order)."""
        lane = self._sources.get(source)
        if lane is None:
            return []
        self._trim(lane)
        return list(lane.evicted)

    # ------------------------------------------------------------------ internals

    def _trim(self, lane: _Source[F]) -> None:
        """Forget what the server surely consumed; beyond the window's size, evict (and remember)."""
        consumed = lane.mirror.consumed()
        while lane.evicted and lane.base - len(lane.evicted) < consumed:
            lane.evicted.popleft()  # consumed after all
        while lane.window and lane.base < consumed:
            lane.window.popleft()
            lane.base += 1
        while len(lane.window) > self._window_frames:
            lane.evicted.append(lane.window.popleft())
            lane.base += 1
