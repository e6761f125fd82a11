"""Server -> client message bodies (CONTRACT.md section 4), as plain dicts ready for ``json.dumps``.

Correlation ids are added by the connection, not here. Texts mirror the real server's wording where
the contract fixes it, and say what happened in plain words elsewhere.
"""

from __future__ import annotations

from typing import Any

from app.backend.queues import LoadWarning, QueueStats

CONNECTED = {"type": "status", "state": "connected", "message": "Connected, waiting for start"}
UNAUTHORIZED = {"type": "status", "state": "error", "message": "Unauthorized websocket connection"}
AT_CAPACITY = {"type": "status", "state": "error", "message": "Server at capacity, please try again later"}


def status(state: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "status", "state": state, "message": message, **extra}


def error(message: str) -> dict[str, Any]:
    return {"type": "error", "message": message}


def streaming_ack(connection_id: str, client_features: dict[str, Any]) -> dict[str, Any]:
    return status("streaming", "Streaming", connection_id=connection_id, client_features=client_features)


def load_warning(w: LoadWarning) -> dict[str, Any]:
    """buffering/overloaded carry ``source``; backpressure names the source only inside ``message``."""
    pct = round(w.fill_ratio * 100)
    if w.state == "buffering":
        return status("buffering", f"Buffering {w.source} audio: queue {pct}% full, "
                      f"{w.backlog_seconds:.1f}s behind", source=w.source,
                      backlog_seconds=w.backlog_seconds)
    if w.state == "overloaded":
        return status("overloaded", f"Server overloaded: {w.source} queue {pct}% full, "
                      f"{w.backlog_seconds:.1f}s behind", source=w.source,
                      backlog_seconds=w.backlog_seconds)
    return status(
        "backpressure",
        f"Dropping oldest {w.source} audio to stay live ({w.dropped_seconds:.1f}s dropped so far)",
        dropped_frames=w.dropped_frames,
        dropped_seconds=w.dropped_seconds,
        backlog_seconds=w.backlog_seconds,
    )


def metrics(
    q: QueueStats,
    *,
    max_backlog_seconds: float,
    avg_infer_ms: float,
    realtime_factor: float,
    provider: str,
    model_id: str,
    compute_rtf: float,
    rtf_avg_10s: float,
    sources_active: int,
    timestamp: float,
) -> dict[str, Any]:
    """Every field of section 4.2, including the optional degrade fields."""
    level, level_num = degrade_level(rtf_avg_10s)
    return {
        "type": "metrics",
        "source": q.source,
        "queue_bytes": q.queue_bytes,
        "queue_bytes_max": q.queue_bytes_max,
        "queue_fill_ratio": q.fill_ratio,
        "backlog_seconds": q.backlog_seconds,
        "max_backlog_seconds": max_backlog_seconds,
        "queue_depth": q.queue_depth,
        "queue_max_frames": q.queue_max_frames,
        "dropped_total": q.dropped_total,
        "dropped_recent": q.dropped_recent,
        "avg_infer_ms": round(avg_infer_ms, 2),
        "realtime_factor": round(realtime_factor, 3),
        "provider": provider,
        "model_id": model_id,
        "vad_enabled": False,
        "provider_health": {
            "provider": provider,
            "model_id": model_id,
            "model_ready": True,
            "realtime_factor": round(compute_rtf, 3),
        },
        "sources_active": sources_active,
        "timestamp": timestamp,
        "degrade_level": level,
        "degrade_level_num": level_num,
        "rtf_avg_10s": round(rtf_avg_10s, 3),
    }


def degrade_level(rtf_avg: float) -> tuple[str, int]:
    """The degrade-ladder rung the recent compute RTF corresponds to (reported, never acted on)."""
    if rtf_avg < 0.8:
        return "normal", 0
    if rtf_avg < 1.0:
        return "warning", 1
    if rtf_avg < 1.2:
        return "degrade", 2
    return "emergency", 3


def asr_final(
    text: str, t0: float, t1: float, confidence: float, source: str, segment_id: str
) -> dict[str, Any]:
    return {
        "type": "asr_final",
        "text": text,
        "t0": t0,
        "t1": t1,
        "confidence": confidence,
        "source": source,
        "stable": True,
        "language": "en",
        "segment_id": segment_id,
    }


def entities_update(groups: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"type": "entities_update", **groups}


def cards_update(found: dict[str, Any]) -> dict[str, Any]:
    return {"type": "cards_update", **found}


def final_summary(markdown: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "final_summary", "markdown": markdown, "json": data}
