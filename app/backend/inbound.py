"""Client payloads -> what the backend does with them (start, stop, audio, ignore, or error + close).

Parsing is ``app.core.protocol.decode_client``. One extension: the real server takes any JSON
``source`` string and rejects only a THIRD distinct source (with a warning per frame), so JSON audio
naming a source other than system/mic is re-read here instead of being treated as garbage, and its
name normalised as the real server does (trimmed, lower case, "microphone" is "mic", empty is
"system").
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from app.core.messages import AudioMessage, StartMessage, StopMessage
from app.core.protocol import decode_client

KNOWN_TYPES = ("start", "audio", "stop")
MAX_SOURCE_NAME = 64


@dataclass(frozen=True, slots=True)
class Audio:
    source: str
    pcm: bytes


@dataclass(frozen=True, slots=True)
class Ignored:
    """Tolerated input: answered with a ``warning`` status, the connection goes on."""

    reason: str


@dataclass(frozen=True, slots=True)
class Fatal:
    """Bad input: answered with ``{"type":"error"}`` and a close."""

    message: str


Inbound = StartMessage | StopMessage | Audio | Ignored | Fatal


def classify(payload: str | bytes, max_audio_bytes: int) -> Inbound:
    """Decide what a client payload is. Never raises."""
    msg = decode_client(payload)
    if isinstance(msg, StartMessage | StopMessage):
        return msg
    if isinstance(msg, AudioMessage):
        return _audio(msg.source.value, msg.pcm, max_audio_bytes)
    if msg.type == "audio" and isinstance(payload, str):
        other = _other_source_audio(payload)
        if other is not None:
            return _audio(other.source, other.pcm, max_audio_bytes)
    if msg.type is not None and msg.type not in KNOWN_TYPES:
        return Ignored(f"Ignoring unsupported message type {msg.type[:40]!r}")
    return Fatal(msg.message)


def _audio(source: str, pcm: bytes, max_audio_bytes: int) -> Audio | Fatal:
    if len(pcm) > max_audio_bytes:
        return Fatal(
            f"Audio frame too large: {len(pcm)} bytes (at most {max_audio_bytes}; send 20 ms frames)"
        )
    if len(pcm) % 2:
        return Fatal(f"Audio frame of {len(pcm)} bytes is not 16-bit PCM (odd length)")
    return Audio(source, pcm)


def _other_source_audio(payload: str) -> Audio | None:
    """JSON audio whose only fault is an unfamiliar (string) source name."""
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    source, data = obj.get("source"), obj.get("data")
    if not isinstance(source, str) or not 0 < len(source) <= MAX_SOURCE_NAME or not isinstance(data, str):
        return None
    try:
        return Audio(normalise_source(source), base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return None


def normalise_source(name: str) -> str:
    name = name.strip().lower()
    if name == "microphone":
        return "mic"
    return name or "system"
