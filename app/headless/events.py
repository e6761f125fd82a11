"""Session events as JSON lines for headless mode: one flat object per event, ``event`` names the kind.

``throttle``: what adaptive throttling does (``enabled``, ``mode``, ``text``, and per source
``held_seconds`` now, ``shed_seconds`` / ``skipped_seconds`` so far); at most ~2 per second.
``session_end`` per source: ``captured_frames = sent_frames + dropped_frames (the client's backlog
bound, oldest first) + shed_frames (throttling's hold was full) + skipped_frames (silence not sent) +
buffered_frames (never sent: still waiting when the session ended)``, and how long after capture
the frames went out (``send_lag_mean_seconds`` / ``send_lag_max_seconds``: send time minus the
capture time of a frame's first sample; for live audio about one frame, 0.02 s, plus the
resampler's delay plus half the session's tick on average; a replay read ahead of real time can be
sent up to a tick early, so negative). ``padding_frames``: silence sent after the source's last frame
at stop so the recognizer cannot discard the meeting's last words (``app.core.stop_pad``); not
captured audio, so in none of the buckets above.

``level``: the status light people glance at (``app.core.status``): ``light`` idle, unknown (not
measured), live (live and complete), behind, losing, failed; ``reason`` in plain words ("Transcript
21 s behind, catching up"), ``detail``, ``behind_seconds``, ``lost_seconds``, and ``server_level``, the
backend's own backpressureLevel, which also has its own ``server_level`` event when it changes.

Lost audio ("sent" never means "transcribed"): ``loss`` whenever a loss is found or grows (``source``,
``start``/``end`` in session seconds, ``cause``: server_drop, client_shed, in_transit, capture or stop_tail,
``approximate`` and ``error_seconds`` where the contract cannot place it exactly); ``session_end``
carries ``losses`` per source: ``server_dropped_seconds``, ``client_shed_seconds``,
``lost_in_transit_seconds``, ``capture_lost_seconds``, ``stop_tail_seconds`` (the last audio sent,
after the last whole chunk, shorter than the backend transcribes at stop: see ``app.core.stop_pad``)
and ``lost_spans`` ([start, end, cause]).
``transcript`` events say ``approximate`` (with ``error_seconds``) when a segment's times could not be
placed exactly.

``metrics``: coalesced per source to at most one every ``METRICS_INTERVAL_SECONDS`` of session time
(2 per second), so a server flooding metrics cannot grow the file without bound (``EventStream``): a
message within the interval is held and merged into the next one that is due; a line carries the
latest values, ``dropped_recent`` summed over the messages it stands for, and ``coalesced``, how
many messages that is (1 when none was merged). What is still held when the session ends is written
just before ``session_end``, with its own (earlier) ``t``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from app.core.losses import LossSpan, SourceLosses
from app.core.session_state import (
    LevelChanged,
    LossRecorded,
    Reconnecting,
    ServerMetrics,
    ServerStatus,
    SessionEnded,
    SessionEvent,
    SessionFailed,
    SessionWarning,
    StateChanged,
    StatusChanged,
    SummaryReady,
    ThrottleChanged,
    TranscriptChanged,
)

_METRIC_FIELDS = ("source", "queue_fill_ratio", "backlog_seconds", "queue_bytes", "dropped_total",
                  "dropped_recent", "realtime_factor", "avg_infer_ms", "sources_active", "provider")


def event_to_dict(event: SessionEvent) -> dict[str, Any]:
    body: dict[str, Any]
    if isinstance(event, StateChanged):
        body = {"event": "state", "state": event.state.value, "detail": event.detail}
    elif isinstance(event, ServerStatus):
        st = event.status
        body = {"event": "status", "state": st.state, "message": st.message, "source": st.source,
                "backlog_seconds": st.backlog_seconds, "dropped_frames": st.dropped_frames,
                "connection_id": st.ids.connection_id or None}
    elif isinstance(event, ServerMetrics):
        body = {"event": "metrics", **{name: getattr(event.metrics, name) for name in _METRIC_FIELDS}}
    elif isinstance(event, TranscriptChanged):
        seg = event.segment
        body = {"event": "transcript", "source": seg.source, "text": seg.text, "t0": round(seg.t0, 3),
                "t1": round(seg.t1, 3), "final": seg.is_final, "connection": seg.connection_index,
                **({"approximate": True, "error_seconds": seg.error_seconds} if seg.approximate else {})}
    elif isinstance(event, LossRecorded):
        body = {"event": "loss", **_span(event.span)}
    elif isinstance(event, StatusChanged):
        now = event.report
        body = {"event": "level", "light": now.light.value, "reason": now.headline, "detail": now.detail,
                "behind_seconds": now.behind_seconds, "lost_seconds": now.lost_seconds,
                "server_level": now.server_level.value,
                **({"silent_source": now.silent_source} if now.silent_source else {})}
    elif isinstance(event, LevelChanged):
        body = {"event": "server_level", "level": event.report.level.value, "reason": event.report.reason}
    elif isinstance(event, Reconnecting):
        body = {"event": "reconnect", "attempt": event.attempt,
                "delay_seconds": round(event.delay_seconds, 3), "reason": event.reason}
    elif isinstance(event, SummaryReady):
        body = {"event": "summary", "segments": event.segments, "markdown": event.markdown}
    elif isinstance(event, SessionFailed):
        body = {"event": "error", "message": event.message, "terminal": event.terminal}
    elif isinstance(event, SessionWarning):
        body = {"event": "warning", "message": event.message}
    elif isinstance(event, ThrottleChanged):
        body = {"event": "throttle", "enabled": event.enabled, "mode": event.mode, "text": event.text,
                "held_seconds": dict(event.held_seconds), "shed_seconds": dict(event.shed_seconds),
                "skipped_seconds": dict(event.skipped_seconds)}
    elif isinstance(event, SessionEnded):
        body = {
            "event": "session_end", "outcome": event.outcome.value, "message": event.message,
            "sources": {
                src.value: {"captured_frames": c.captured_frames, "sent_frames": c.sent_frames,
                            "dropped_frames": c.dropped_frames, "shed_frames": c.shed_frames,
                            "skipped_frames": c.skipped_frames, "buffered_frames": c.buffered_frames,
                            "padding_frames": c.padding_frames,
                            "send_lag_mean_seconds": round(c.mean_send_lag_seconds, 4),
                            "send_lag_max_seconds": round(c.max_send_lag_seconds, 4)}
                for src, c in event.sources.items()
            },
            "server_dropped_frames": event.server_dropped_frames, "reconnects": event.reconnects,
            "losses": {source: _losses(lost) for source, lost in event.losses.items()},
        }
    else:
        body = {"event": type(event).__name__}
    return {"event": body.pop("event"), "t": round(event.t, 3), **body}


def _span(span: LossSpan) -> dict[str, Any]:
    return {"source": span.source, "start": round(span.start, 3), "end": round(span.end, 3),
            "seconds": round(span.seconds, 3), "cause": span.cause.value, "approximate": span.approximate,
            "error_seconds": span.error_seconds}


def _losses(lost: SourceLosses) -> dict[str, Any]:
    return {"server_dropped_seconds": lost.server_dropped_seconds,
            "client_shed_seconds": lost.client_shed_seconds,
            "lost_in_transit_seconds": lost.lost_in_transit_seconds,
            "capture_lost_seconds": lost.capture_lost_seconds,
            "stop_tail_seconds": lost.stop_tail_seconds,
            "lost_spans": [[round(s.start, 3), round(s.end, 3), s.cause.value] for s in lost.spans]}


def event_to_json(event: SessionEvent, extra: Mapping[str, Any] | None = None) -> str:
    """One JSON line; ``extra`` fields are added (``session_end`` gets the history's ``meeting_id``)."""
    return json.dumps({**event_to_dict(event), **(extra or {})}, ensure_ascii=False, default=str)


METRICS_INTERVAL_SECONDS = 0.5


class EventStream:
    """Session events -> the dicts to write, metrics coalesced per source (see the module docstring).
    Pure; times are the events' own (session seconds), so a test steps them instead of sleeping."""

    def __init__(self, interval: float = METRICS_INTERVAL_SECONDS) -> None:
        self._interval = interval
        self._written_at: dict[str, float] = {}  # per source: t of the last metrics line
        self._pending: dict[str, dict[str, Any]] = {}  # per source: merged metrics not written yet

    def feed(self, event: SessionEvent) -> Iterator[dict[str, Any]]:
        """The lines ``event`` gives: itself, unless it is a metrics message held back; before a
        ``session_end``, every metrics message still held."""
        body = event_to_dict(event)
        if isinstance(event, SessionEnded):
            yield from self._pending.values()
            self._pending.clear()
        if not isinstance(event, ServerMetrics):
            yield body
            return
        source = str(body.get("source") or "")
        held = self._pending.pop(source, None)
        if held is not None:  # merge: the latest values, drops summed
            body["dropped_recent"] = (held["dropped_recent"] or 0) + (body["dropped_recent"] or 0)
            body["coalesced"] = held["coalesced"] + 1
        else:
            body["coalesced"] = 1
        last = self._written_at.get(source)
        if last is None or body["t"] - last >= self._interval:
            self._written_at[source] = body["t"]
            yield body
        else:
            self._pending[source] = body
