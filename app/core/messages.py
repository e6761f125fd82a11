"""Typed, immutable messages of the EchoPanel live-listener protocol v0.2 (CONTRACT.md sections 2-4).

Pure data: no I/O, no parsing. ``app.core.protocol`` turns these into wire payloads and back.
Every server-side field that the contract calls optional is optional here too, with a default that
means "not reported" (``None``) rather than a made-up value.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SAMPLE_RATE = 16_000
FRAME_SAMPLES = 320  # 20 ms at 16 kHz
FRAME_BYTES = FRAME_SAMPLES * 2  # pcm_s16le mono
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
AUDIO_FORMAT = "pcm_s16le"
CHANNELS = 1


class Source(enum.StrEnum):
    """An audio source. The value is the JSON spelling; ``wire_byte`` the binary v1 byte."""

    SYSTEM = "system"
    MIC = "mic"

    @property
    def wire_byte(self) -> int:
        return 0 if self is Source.SYSTEM else 1

    @property
    def label(self) -> str:
        return "system audio" if self is Source.SYSTEM else "microphone"


class StatusState(enum.StrEnum):
    """The ``status.state`` values the contract names (section 4.1). Others arrive as raw strings."""

    CONNECTED = "connected"
    STREAMING = "streaming"
    BUFFERING = "buffering"
    OVERLOADED = "overloaded"
    BACKPRESSURE = "backpressure"
    WARNING = "warning"
    ERROR = "error"
    RECONNECTING = "reconnecting"
    NO_ASR_PROVIDER = "no_asr_provider"


# --------------------------------------------------------------------------- client -> server


@dataclass(frozen=True, slots=True)
class ClientFeatures:
    clock_drift_compensation_enabled: bool = False
    client_vad_enabled: bool = False
    clock_drift_telemetry_enabled: bool = True
    client_vad_telemetry_enabled: bool = True


@dataclass(frozen=True, slots=True)
class StartMessage:
    session_id: str
    attempt_id: str
    connection_id: str
    client_features: ClientFeatures = ClientFeatures()
    sample_rate: int = SAMPLE_RATE
    format: str = AUDIO_FORMAT
    channels: int = CHANNELS


@dataclass(frozen=True, slots=True)
class AudioMessage:
    """One frame of PCM s16le mono 16 kHz (640 bytes for a 20 ms frame)."""

    source: Source
    pcm: bytes


@dataclass(frozen=True, slots=True)
class StopMessage:
    session_id: str


ClientMessage = StartMessage | AudioMessage | StopMessage


# --------------------------------------------------------------------------- server -> client


@dataclass(frozen=True, slots=True)
class Correlation:
    """The ids every server message after ``start`` carries; empty string = not sent."""

    session_id: str = ""
    attempt_id: str = ""
    connection_id: str = ""


@dataclass(frozen=True, slots=True)
class StatusEvent:
    state: str  # raw, so unknown states survive; see ``known_state``
    message: str = ""
    source: str | None = None
    backlog_seconds: float | None = None
    dropped_frames: int | None = None
    dropped_seconds: float | None = None
    degrade_level: str | None = None
    action: str | None = None
    client_features: Mapping[str, Any] | None = None
    ids: Correlation = Correlation()

    @property
    def known_state(self) -> StatusState | None:
        try:
            return StatusState(self.state)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class MetricsEvent:
    """A ``metrics`` message. Any field may be missing; ``None`` means the server did not say."""

    source: str | None = None
    queue_bytes: int | None = None
    queue_bytes_max: int | None = None
    queue_fill_ratio: float | None = None
    backlog_seconds: float | None = None
    max_backlog_seconds: float | None = None
    queue_depth: int | None = None
    queue_max_frames: int | None = None
    dropped_total: int | None = None
    dropped_recent: int | None = None
    avg_infer_ms: float | None = None
    realtime_factor: float | None = None
    provider: str | None = None
    model_id: str | None = None
    vad_enabled: bool | None = None
    provider_health: Mapping[str, Any] | None = None
    sources_active: int | None = None
    timestamp: float | None = None
    degrade_level: str | None = None
    degrade_level_num: int | None = None
    rtf_avg_10s: float | None = None
    ids: Correlation = Correlation()

    @property
    def fill_ratio(self) -> float | None:
        """Queue fill: the reported ratio, else computed from bytes, else ``None``."""
        if self.queue_fill_ratio is not None:
            return self.queue_fill_ratio
        if self.queue_bytes is not None and self.queue_bytes_max:
            return self.queue_bytes / self.queue_bytes_max
        return None


@dataclass(frozen=True, slots=True)
class TranscriptEvent:
    """``asr_final`` (``is_final``) or ``asr_partial``.

    ``t0``/``t1`` are seconds of audio the server processed for this source on one connection.
    """

    is_final: bool
    text: str
    t0: float = 0.0
    t1: float = 0.0
    source: str | None = None
    confidence: float | None = None
    stable: bool | None = None
    language: str | None = None
    segment_id: str | None = None
    speaker: str | None = None
    ids: Correlation = Correlation()


@dataclass(frozen=True, slots=True)
class Entity:
    name: str
    type: str = ""
    count: int = 0
    last_seen: float | None = None
    confidence: float | None = None
    grounding: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EntitiesEvent:
    people: tuple[Entity, ...] = ()
    orgs: tuple[Entity, ...] = ()
    dates: tuple[Entity, ...] = ()
    projects: tuple[Entity, ...] = ()
    topics: tuple[Entity, ...] = ()
    ids: Correlation = Correlation()


@dataclass(frozen=True, slots=True)
class Card:
    text: str
    owner: str | None = None
    due: str | None = None
    confidence: float | None = None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CardsEvent:
    actions: tuple[Card, ...] = ()
    decisions: tuple[Card, ...] = ()
    risks: tuple[Card, ...] = ()
    window: Mapping[str, Any] | None = None
    ids: Correlation = Correlation()


@dataclass(frozen=True, slots=True)
class FinalSummaryEvent:
    markdown: str = ""
    transcript: tuple[TranscriptEvent, ...] = ()
    actions: tuple[Card, ...] = ()
    decisions: tuple[Card, ...] = ()
    risks: tuple[Card, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)  # the whole ``json`` object, as sent
    ids: Correlation = Correlation()


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """``type:"error"``: always followed by a close from the server. Shown to the user."""

    message: str
    ids: Correlation = Correlation()


@dataclass(frozen=True, slots=True)
class UnrecognizedEvent:
    """Anything the decoder could not turn into a known message. Never fatal; log and show."""

    reason: str
    excerpt: str
    type: str | None = None
    ids: Correlation = Correlation()


ServerEvent = (
    StatusEvent
    | MetricsEvent
    | TranscriptEvent
    | EntitiesEvent
    | CardsEvent
    | FinalSummaryEvent
    | ErrorEvent
    | UnrecognizedEvent
)
