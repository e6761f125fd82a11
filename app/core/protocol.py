"""Sans-I/O codec for the EchoPanel live-listener protocol v0.2 (CONTRACT.md sections 2-4).

Client side: ``encode_*`` produce exactly the text/bytes the contract specifies.
Server side: ``decode_server`` turns any payload (text or bytes, well-formed or not) into a typed
``ServerEvent`` and NEVER raises; what it cannot understand becomes an ``UnrecognizedEvent`` with
the reason and a short excerpt. Text is sanitised here, at the boundary: JSON may escape a lone
UTF-16 surrogate (backslash-u d800), which Python keeps in a ``str`` and no UTF-8 file can hold, so
it becomes U+FFFD and everything downstream (events file, exports, the window) gets encodable text.
The field-by-field decoder of each message type is in ``app.core.server_decoders``.
``decode_client`` is the reverse for the reference backend and
returns a ``ClientDecodeError`` instead of raising.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.core import fields as f
from app.core.messages import (
    AUDIO_FORMAT,
    CHANNELS,
    SAMPLE_RATE,
    AudioMessage,
    ClientFeatures,
    ClientMessage,
    Correlation,
    ServerEvent,
    Source,
    StartMessage,
    StopMessage,
    UnrecognizedEvent,
)
from app.core.server_decoders import SERVER_DECODERS, excerpt

BINARY_MAGIC = b"EP"
BINARY_VERSION = 1
BINARY_HEADER_BYTES = 4

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
    decoder = SERVER_DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        reason = "message without a type" if kind is None else f"unknown message type {kind!r}"
        return UnrecognizedEvent(reason, excerpt(payload), kind if isinstance(kind, str) else None, ids)
    return decoder(obj, ids)


# --------------------------------------------------------------------------- shared helpers


def is_for_attempt(event: ServerEvent, attempt_id: str) -> bool:
    """The attempt_id rule: drop messages whose non-empty attempt_id differs from ours."""
    return not event.ids.attempt_id or event.ids.attempt_id == attempt_id


def _load_object(payload: str | bytes) -> dict[str, Any] | str:
    """Parse JSON text into an object; on failure return the reason as a string."""
    try:
        obj = json.loads(payload)
        if _SURROGATE_ESCAPE.search(payload if isinstance(payload, str) else payload.decode("latin-1")):
            obj = _without_surrogates(obj)  # rare: only a payload that escapes a surrogate pays the walk
    except (ValueError, RecursionError) as exc:
        return f"malformed JSON: {type(exc).__name__}"
    if not isinstance(obj, dict):
        return f"JSON {type(obj).__name__} where an object was expected"
    return obj


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads already joined every valid pair


def _without_surrogates(value: Any) -> Any:
    """``value`` (parsed JSON) with every lone surrogate in its strings and keys replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


def _number_is(value: object, expected: int) -> bool:
    """``value == expected`` for JSON numbers; JSON ``true`` is not 1 here although Python's True is."""
    return not isinstance(value, bool) and isinstance(value, int | float) and value == expected


def _source_or_none(value: object) -> Source | None:
    try:
        return Source(value) if isinstance(value, str) else None
    except ValueError:
        return None
