"""Sans-I/O codec for the EchoPanel live-listener protocol v0.2 (CONTRACT.md sections 2-4).

Client side: ``encode_*`` produce exactly the text/bytes the contract specifies.
Server side: ``decode_server`` turns any payload (text or bytes, well-formed or not) into a typed
``ServerEvent`` and NEVER raises; what it cannot understand becomes an ``UnrecognizedEvent`` with
the reason and a short excerpt. ``decode_client`` is the reverse for the reference backend and
returns a ``ClientDecodeError`` instead of raising.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core import fields as f
from app.core.messages import (
    AUDIO_FORMAT,
    CHANNELS,
    SAMPLE_RATE,
    AudioMessage,
    Card,
    CardsEvent,
    ClientFeatures,
    ClientMessage,
    Correlation,
    EntitiesEvent,
    Entity,
    ErrorEvent,
    FinalSummaryEvent,
    MetricsEvent,
    ServerEvent,
    Source,
    StartMessage,
    StatusEvent,
    StopMessage,
    TranscriptEvent,
    UnrecognizedEvent,
)

BINARY_MAGIC = b"EP"
BINARY_VERSION = 1
BINARY_HEADER_BYTES = 4
EXCERPT_CHARS = 120

# --------------------------------------------------------------------------- client encoding


def encode_start(msg: StartMessage) -> str:
    feats = msg.client_features
    return json.dumps(
        {
            "type": "start",
            "session_id": msg.session_id,
            "attempt_id": msg.attempt_id,
            "connection_id": msg.connection_id,
            "sample_rate": msg.sample_rate,
            "format": msg.format,
            "channels": msg.channels,
            "client_features": {
                "clock_drift_compensation_enabled": feats.clock_drift_compensation_enabled,
                "client_vad_enabled": feats.client_vad_enabled,
                "clock_drift_telemetry_enabled": feats.clock_drift_telemetry_enabled,
                "client_vad_telemetry_enabled": feats.client_vad_telemetry_enabled,
            },
        }
    )


def encode_audio_json(msg: AudioMessage) -> str:
    data = base64.b64encode(msg.pcm).decode("ascii")
    return json.dumps({"type": "audio", "source": msg.source.value, "data": data})


def encode_audio_binary(msg: AudioMessage) -> bytes:
    return encode_audio_frame(msg.source, msg.pcm)


_BINARY_HEADERS = {source: BINARY_MAGIC + bytes((BINARY_VERSION, source.wire_byte)) for source in Source}


def encode_audio_frame(source: Source, pcm: bytes) -> bytes:
    """Binary v1 audio without building an ``AudioMessage`` (the per-frame hot path)."""
    return _BINARY_HEADERS[source] + pcm


def encode_stop(msg: StopMessage) -> str:
    return json.dumps({"type": "stop", "session_id": msg.session_id})


def encode_client(msg: ClientMessage, *, binary_audio: bool = True) -> str | bytes:
    if isinstance(msg, StartMessage):
        return encode_start(msg)
    if isinstance(msg, StopMessage):
        return encode_stop(msg)
    return encode_audio_binary(msg) if binary_audio else encode_audio_json(msg)


# --------------------------------------------------------------------------- client decoding (backend side)


@dataclass(frozen=True, slots=True)
class ClientDecodeError:
    """Why a client payload was rejected; ``message`` is what the server tells the client."""

    message: str
    type: str | None = None


def decode_client(payload: str | bytes) -> ClientMessage | ClientDecodeError:
    if isinstance(payload, bytes | bytearray | memoryview):
        return _decode_binary_audio(bytes(payload))
    obj = _load_object(payload)
    if isinstance(obj, str):
        return ClientDecodeError(obj)
    kind = obj.get("type")
    if kind == "start":
        return _decode_start(obj)
    if kind == "audio":
        source = _source_or_none(obj.get("source", "system"))
        data = obj.get("data")
        if source is None:
            return ClientDecodeError(f"Unknown audio source: {obj.get('source')!r}", "audio")
        if not isinstance(data, str):
            return ClientDecodeError("Audio message without base64 'data'", "audio")
        try:
            pcm = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return ClientDecodeError("Audio 'data' is not valid base64", "audio")
        return AudioMessage(source, pcm)
    if kind == "stop":
        sid = obj.get("session_id")
        if not isinstance(sid, str) or not 1 <= len(sid) <= 256:
            return ClientDecodeError("Invalid stop message: session_id is required", "stop")
        return StopMessage(sid)
    return ClientDecodeError(f"Unknown message type: {kind!r}", kind if isinstance(kind, str) else None)


def _decode_binary_audio(data: bytes) -> AudioMessage | ClientDecodeError:
    if len(data) < BINARY_HEADER_BYTES or data[:2] != BINARY_MAGIC:
        return ClientDecodeError("Binary frame without the EP header", "audio")
    if data[2] != BINARY_VERSION:
        return ClientDecodeError(f"Unsupported binary audio version {data[2]}", "audio")
    if data[3] not in (0, 1):
        return ClientDecodeError(f"Unknown binary audio source byte {data[3]}", "audio")
    return AudioMessage(Source.SYSTEM if data[3] == 0 else Source.MIC, data[BINARY_HEADER_BYTES:])


def _decode_start(obj: Mapping[str, Any]) -> StartMessage | ClientDecodeError:
    sid = obj.get("session_id")
    if not isinstance(sid, str) or not 1 <= len(sid) <= 256:
        return ClientDecodeError("Invalid start message: session_id must be a string of 1-256 chars", "start")
    rate = obj.get("sample_rate", SAMPLE_RATE)
    fmt = obj.get("format", AUDIO_FORMAT)
    channels = obj.get("channels", CHANNELS)
    if not (_number_is(rate, SAMPLE_RATE) and fmt == AUDIO_FORMAT and _number_is(channels, CHANNELS)):
        return ClientDecodeError(
            f"Unsupported audio format: sample_rate={rate!r} format={fmt!r} channels={channels!r}", "start"
        )
    raw_feats = obj.get("client_features")
    feats = raw_feats if isinstance(raw_feats, Mapping) else {}
    return StartMessage(
        session_id=sid,
        attempt_id=f.text(obj, "attempt_id"),
        connection_id=f.text(obj, "connection_id"),
        client_features=ClientFeatures(
            clock_drift_compensation_enabled=f.flag(feats, "clock_drift_compensation_enabled", False),
            client_vad_enabled=f.flag(feats, "client_vad_enabled", False),
            clock_drift_telemetry_enabled=f.flag(feats, "clock_drift_telemetry_enabled", True),
            client_vad_telemetry_enabled=f.flag(feats, "client_vad_telemetry_enabled", True),
        ),
    )


# --------------------------------------------------------------------------- server decoding (client side)


def decode_server(payload: str | bytes) -> ServerEvent:
    """Decode one server payload. Never raises: bad input becomes ``UnrecognizedEvent``."""
    try:
        return _decode_server(payload)
    except Exception as exc:  # a decoder bug must not take the session down
        return UnrecognizedEvent(f"decoder failure: {type(exc).__name__}", excerpt(payload))


def _decode_server(payload: str | bytes) -> ServerEvent:
    if isinstance(payload, bytes | bytearray | memoryview):
        return UnrecognizedEvent("unexpected binary message from server", excerpt(bytes(payload)))
    obj = _load_object(payload)
    if isinstance(obj, str):
        return UnrecognizedEvent(obj, excerpt(payload))
    ids = Correlation(f.text(obj, "session_id"), f.text(obj, "attempt_id"), f.text(obj, "connection_id"))
    kind = obj.get("type")
    decoder = _SERVER_DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        reason = "message without a type" if kind is None else f"unknown message type {kind!r}"
        return UnrecognizedEvent(reason, excerpt(payload), kind if isinstance(kind, str) else None, ids)
    return decoder(obj, ids)


def _status(obj: Mapping[str, Any], ids: Correlation) -> ServerEvent:
    state = obj.get("state")
    if not isinstance(state, str) or not state:
        return UnrecognizedEvent("status without a state", excerpt(json.dumps(obj)), "status", ids)
    return StatusEvent(
        state=state,
        message=f.text(obj, "message"),
        source=f.opt_text(obj, "source"),
        backlog_seconds=f.opt_float(obj, "backlog_seconds"),
        dropped_frames=f.opt_int(obj, "dropped_frames"),
        dropped_seconds=f.opt_float(obj, "dropped_seconds"),
        degrade_level=f.opt_text(obj, "degrade_level"),
        action=f.opt_text(obj, "action"),
        client_features=f.opt_mapping(obj, "client_features"),
        ids=ids,
    )


def _metrics(obj: Mapping[str, Any], ids: Correlation) -> ServerEvent:
    return MetricsEvent(
        source=f.opt_text(obj, "source"),
        queue_bytes=f.opt_int(obj, "queue_bytes"),
        queue_bytes_max=f.opt_int(obj, "queue_bytes_max"),
        queue_fill_ratio=f.opt_float(obj, "queue_fill_ratio"),
        backlog_seconds=f.opt_float(obj, "backlog_seconds"),
        max_backlog_seconds=f.opt_float(obj, "max_backlog_seconds"),
        queue_depth=f.opt_int(obj, "queue_depth"),
        queue_max_frames=f.opt_int(obj, "queue_max_frames"),
        dropped_total=f.opt_int(obj, "dropped_total"),
        dropped_recent=f.opt_int(obj, "dropped_recent"),
        avg_infer_ms=f.opt_float(obj, "avg_infer_ms"),
        realtime_factor=f.opt_float(obj, "realtime_factor"),
        provider=f.opt_text(obj, "provider"),
        model_id=f.opt_text(obj, "model_id"),
        vad_enabled=f.opt_flag(obj, "vad_enabled"),
        provider_health=f.opt_mapping(obj, "provider_health"),
        sources_active=f.opt_int(obj, "sources_active"),
        timestamp=f.opt_float(obj, "timestamp"),
        degrade_level=f.opt_text(obj, "degrade_level"),
        degrade_level_num=f.opt_int(obj, "degrade_level_num"),
        rtf_avg_10s=f.opt_float(obj, "rtf_avg_10s"),
        ids=ids,
    )


def _transcript(obj: Mapping[str, Any], ids: Correlation, is_final: bool) -> TranscriptEvent:
    t0 = f.opt_float(obj, "t0") or 0.0
    return TranscriptEvent(
        is_final=is_final,
        text=f.text(obj, "text"),
        t0=t0,
        t1=max(t0, f.opt_float(obj, "t1") or t0),
        source=f.opt_text(obj, "source"),
        confidence=f.opt_float(obj, "confidence"),
        stable=f.opt_flag(obj, "stable"),
        language=f.opt_text(obj, "language"),
        segment_id=f.opt_text(obj, "segment_id"),
        speaker=f.opt_text(obj, "speaker"),
        ids=ids,
    )


def _entity(item: Mapping[str, Any]) -> Entity:
    return Entity(
        name=f.text(item, "name"),
        type=f.text(item, "type"),
        count=f.opt_int(item, "count") or 0,
        last_seen=f.opt_float(item, "last_seen"),
        confidence=f.opt_float(item, "confidence"),
        grounding=f.texts(item, "grounding"),
    )


def _entities(obj: Mapping[str, Any], ids: Correlation) -> EntitiesEvent:
    def group(key: str) -> tuple[Entity, ...]:
        return tuple(_entity(item) for item in f.objects(obj, key) if f.text(item, "name"))

    return EntitiesEvent(
        group("people"), group("orgs"), group("dates"), group("projects"), group("topics"), ids
    )


def _card(item: Mapping[str, Any]) -> Card:
    return Card(
        text=f.text(item, "text"),
        owner=f.opt_text(item, "owner"),
        due=f.opt_text(item, "due"),
        confidence=f.opt_float(item, "confidence"),
        evidence=f.texts(item, "evidence"),
    )


def _cards_of(obj: Mapping[str, Any], key: str) -> tuple[Card, ...]:
    return tuple(_card(item) for item in f.objects(obj, key) if f.text(item, "text"))


def _cards(obj: Mapping[str, Any], ids: Correlation) -> CardsEvent:
    return CardsEvent(
        _cards_of(obj, "actions"),
        _cards_of(obj, "decisions"),
        _cards_of(obj, "risks"),
        f.opt_mapping(obj, "window"),
        ids,
    )


def _final_summary(obj: Mapping[str, Any], ids: Correlation) -> FinalSummaryEvent:
    data = f.opt_mapping(obj, "json") or {}
    return FinalSummaryEvent(
        markdown=f.text(obj, "markdown"),
        transcript=tuple(_transcript(seg, ids, True) for seg in f.objects(data, "transcript")),
        actions=_cards_of(data, "actions"),
        decisions=_cards_of(data, "decisions"),
        risks=_cards_of(data, "risks"),
        data=data,
        ids=ids,
    )


def _error(obj: Mapping[str, Any], ids: Correlation) -> ErrorEvent:
    return ErrorEvent(f.text(obj, "message") or "The server reported an error without a message", ids)


_SERVER_DECODERS: dict[str, Callable[[Mapping[str, Any], Correlation], ServerEvent]] = {
    "status": _status,
    "metrics": _metrics,
    "asr_final": lambda obj, ids: _transcript(obj, ids, True),
    "asr_partial": lambda obj, ids: _transcript(obj, ids, False),
    "entities_update": _entities,
    "cards_update": _cards,
    "final_summary": _final_summary,
    "error": _error,
}


# --------------------------------------------------------------------------- shared helpers


def is_for_attempt(event: ServerEvent, attempt_id: str) -> bool:
    """The attempt_id rule: drop messages whose non-empty attempt_id differs from ours."""
    return not event.ids.attempt_id or event.ids.attempt_id == attempt_id


def excerpt(payload: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable excerpt of a payload for logs and ``UnrecognizedEvent``."""
    text = payload if isinstance(payload, str) else bytes(payload[: limit // 2]).hex(" ")
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _load_object(payload: str | bytes) -> dict[str, Any] | str:
    """Parse JSON text into an object; on failure return the reason as a string."""
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        return f"malformed JSON: {type(exc).__name__}"
    if not isinstance(obj, dict):
        return f"JSON {type(obj).__name__} where an object was expected"
    return obj


def _number_is(value: object, expected: int) -> bool:
    """``value == expected`` for JSON numbers; JSON ``true`` is not 1 here although Python's True is."""
    return not isinstance(value, bool) and isinstance(value, int | float) and value == expected


def _source_or_none(value: object) -> Source | None:
    try:
        return Source(value) if isinstance(value, str) else None
    except ValueError:
        return None
