"""Session events as JSON lines for headless mode: one flat object per event, ``event`` names the kind.

``throttle``: what adaptive throttling does (``enabled``, ``mode``, ``text``, and per source
``held_seconds`` now, ``shed_seconds`` / ``skipped_seconds`` so far); at most ~2 per second.
``session_end`` per source: ``captured_frames = sent_frames + dropped_frames (the client's backlog
bound, oldest first) + shed_frames (throttling's hold was full) + skipped_frames (silence not sent) +
buffered_frames (never sent: still waiting when the session ended)``, and how long after capture
the frames went out (``send_lag_mean_seconds`` / ``send_lag_max_seconds``: send time minus the
capture time of a frame's first sample; for live audio about one frame, 0.02 s, plus the
resampler's delay plus half the session's tick on average; a replay read ahead of real time can be
sent up to a tick early, so negative).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.core.session_state import (
    LevelChanged,
    Reconnecting,
    ServerMetrics,
    ServerStatus,
    SessionEnded,
    SessionEvent,
    SessionFailed,
    SessionWarning,
    StateChanged,
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
                "t1": round(seg.t1, 3), "final": seg.is_final, "connection": seg.connection_index}
    elif isinstance(event, LevelChanged):
        body = {"event": "level", "level": event.report.level.value, "reason": event.report.reason}
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
                            "send_lag_mean_seconds": round(c.mean_send_lag_seconds, 4),
                            "send_lag_max_seconds": round(c.max_send_lag_seconds, 4)}
                for src, c in event.sources.items()
            },
            "server_dropped_frames": event.server_dropped_frames, "reconnects": event.reconnects,
        }
    else:
        body = {"event": type(event).__name__}
    return {"event": body.pop("event"), "t": round(event.t, 3), **body}


def event_to_json(event: SessionEvent, extra: Mapping[str, Any] | None = None) -> str:
    """One JSON line; ``extra`` fields are added (``session_end`` gets the history's ``meeting_id``)."""
    return json.dumps({**event_to_dict(event), **(extra or {})}, ensure_ascii=False, default=str)
