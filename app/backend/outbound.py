"""Server -> client message bodies (CONTRACT.md section 4), as plain dicts ready for ``json.dumps``.

Correlation ids are added by the connection, not here. Texts use the real server's wording where the
contract fixes it (states, "Connected, waiting for start", "Critical backlog, dropping frames", ...)
and say what happened in plain words elsewhere. ``backpressure`` names its source only inside its
message, as ``(source=<name>)``, as the real server does.

Faithful mode builds ``metrics`` and the warning statuses with the real server's fields, rounding and
extra keys (``faithful_metrics``, ``faithful_load_warning``, ``ladder_status``); ideal mode keeps the
earlier shapes (``metrics``, ``load_warning``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.backend.ladder import DegradeLevel
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


def faithful_load_warning(w: LoadWarning) -> dict[str, Any]:
    """Queue warnings as the real server sends them: buffering/overloaded from the metrics tick with
    ``source``; backpressure with the session total and the size of this one drop."""
    pct = round(w.fill_ratio * 100)
    if w.state == "backpressure":
        return status(
            "backpressure",
            f"Queue full: dropped the oldest {w.dropped_seconds:.2f}s of audio to stay live "
            f"(source={w.source})",
            dropped_frames=w.dropped_frames,
            dropped_seconds=w.dropped_seconds,
            backlog_seconds=w.backlog_seconds,
        )
    if w.state == "overloaded":
        text = f"{w.source} queue {pct}% full ({w.backlog_seconds:.1f}s): audio is about to be dropped"
    else:
        text = f"{w.source} queue {pct}% full ({w.backlog_seconds:.1f}s) waiting for the recognizer"
    return status(w.state, text, source=w.source, backlog_seconds=w.backlog_seconds)


_LADDER_STATUS = {
    DegradeLevel.NORMAL: ("streaming", "Performance optimal"),
    DegradeLevel.WARNING: ("buffering", "Recognizer slower than real time"),
    DegradeLevel.DEGRADE: ("buffering", "Recognizer behind real time: reducing quality"),
    DegradeLevel.EMERGENCY: ("overloaded", "Critical backlog, dropping frames"),
    DegradeLevel.FAILOVER: ("reconnecting", "Switching to another recognizer"),
}


def ladder_status(level: DegradeLevel, action: str) -> dict[str, Any]:
    """A degrade-ladder move: no ``source``, no ``backlog_seconds``; the level's upper-case name."""
    state, message = _LADDER_STATUS[level]
    return status(state, message, degrade_level=level.name, action=action)


@dataclass(frozen=True, slots=True)
class SourceLoad:
    """The recognizer half of one faithful ``metrics`` message."""

    avg_gap_ms: float  # mean wall time between this source's finals (the real "avg_infer_ms")
    realtime_factor: float  # between finals, see rtf.FinalsMeter
    ladder_level: DegradeLevel | None  # None: no recognizer, hence no ladder
    rtf_avg_10s: float


def client_flags(features: Mapping[str, Any]) -> dict[str, bool]:
    """The start message's ``client_features`` as the real server repeats them in every metrics."""
    return {
        "client_clock_drift_compensation_enabled": bool(features.get("clock_drift_compensation_enabled")),
        "client_vad_enabled": bool(features.get("client_vad_enabled")),
        "client_clock_drift_telemetry_enabled": bool(features.get("clock_drift_telemetry_enabled")),
        "client_vad_telemetry_enabled": bool(features.get("client_vad_telemetry_enabled")),
    }


def faithful_metrics(
    q: QueueStats,
    load: SourceLoad,
    *,
    max_backlog_seconds: float,
    provider: str,
    model_id: str,
    client_features: Mapping[str, Any],
    clock_spread_ms: tuple[float, float],
    sources_active: Sequence[str],
    timestamp: float,
) -> dict[str, Any]:
    """``metrics`` with the real server's fields, rounding and extra keys (CONTRACT.md 4.2, 10)."""
    body: dict[str, Any] = {
        "type": "metrics",
        "source": q.source,
        "queue_bytes": q.queue_bytes,
        "queue_bytes_max": q.queue_bytes_max,
        "queue_fill_ratio": round(q.fill_ratio, 2),
        "backlog_seconds": round(q.backlog_seconds, 2),
        "max_backlog_seconds": round(max_backlog_seconds, 2),
        "queue_depth": q.queue_depth,
        "queue_max_frames": q.queue_max_frames,
        "dropped_total": q.dropped_total,
        "dropped_recent": q.dropped_recent,
        "dropped_chunks_last_10s": q.dropped_recent,  # the real server's name; the same number
        "avg_infer_ms": round(load.avg_gap_ms, 1),
        "avg_processing_ms": round(load.avg_gap_ms, 1),
        "realtime_factor": round(load.realtime_factor, 2),
        "provider": provider,
        "model_id": model_id,
        "vad_enabled": True,  # finals come from speech regions only: silence is skipped
        "provider_health": None,  # what the real server sends with its default (VAD-wrapped) provider
        **client_flags(client_features),
        "source_clock_spread_ms": round(clock_spread_ms[0], 1),
        "max_source_clock_spread_ms": round(clock_spread_ms[1], 1),
        "sources_active": list(sources_active),
        "timestamp": timestamp,
    }
    if load.ladder_level is not None:
        body["degrade_level"] = load.ladder_level.name
        body["degrade_level_num"] = int(load.ladder_level)
        body["rtf_avg_10s"] = load.rtf_avg_10s
    return body


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
    """Ideal mode: every field of section 4.2, including the optional degrade fields."""
    level, level_num = degrade_level(rtf_avg_10s)
    return {
        "type": "metrics",
        "source": q.source,
        "queue_bytes": q.queue_bytes,
        "queue_bytes_max": q.queue_bytes_max,
        "queue_fill_ratio": round(q.fill_ratio, 2),
        "backlog_seconds": round(q.backlog_seconds, 3),
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
    """Ideal mode: the rung the recent compute RTF corresponds to (reported, never acted on)."""
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


def no_asr_provider(reason: str) -> dict[str, Any]:
    return status("no_asr_provider", f"No ASR provider available ({reason}); audio is discarded")


def final_summary(markdown: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "final_summary", "markdown": markdown, "json": data}
