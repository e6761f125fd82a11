"""What a session needs to know, as one frozen value (built by headless mode or the UI from ``Settings``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.endpoint import Endpoint
from app.core.reconnect import ReconnectPolicy
from app.core.settings import AudioEncoding, Settings
from app.session_pipeline import PipeConfig

DEFAULT_TICK_SECONDS = 0.04


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """``pipe.buffer_seconds`` (the setting ``client_backlog_seconds``, default 30) is THE client-side
    backlog bound, per source: a source's unsent audio, wherever it waits (adaptive throttling's hold
    + its send buffer), never exceeds it; beyond it the oldest is dropped (counted). Throttling's hold
    is one pool of that size shared by the sources (see ``app.session_intake``)."""

    endpoint: Endpoint
    token: str = ""
    encoding: AudioEncoding = AudioEncoding.AUTO  # AUTO: binary for local hosts, JSON otherwise
    throttle: bool = False  # adaptive throttling; also announced as client_vad_enabled
    summary_timeout: float = 30.0  # wait for final_summary after stop
    ack_timeout: float = 5.0  # connected + streaming ack
    health_check: bool = True
    health_wait_seconds: float = 30.0  # how long to poll a 503 (model loading) before giving up
    pipe: PipeConfig = field(default_factory=PipeConfig)
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    # How often captured frames are read and sent. 40 ms rather than 20: the client's CPU is mostly
    # per-wake-up and per-call overhead, and a 40 ms cadence costs about a third less (python -m
    # app.bench pipeline --tick 0.02 vs 0.04) for at most 20 ms more latency on a 2 s server queue.
    tick_seconds: float = DEFAULT_TICK_SECONDS
    stop_when_sources_finish: bool = True  # replays: end the session when every file has been played
    # At stop, the longest the flush of unsent audio may take (it needs the backlog at the backend's
    # observed drain rate); what is not sent by then is given up, counted and reported, and the
    # summary is still asked for.
    flush_timeout: float = 30.0

    @property
    def binary_audio(self) -> bool:
        if self.encoding is AudioEncoding.AUTO:
            return self.endpoint.is_local
        return self.encoding is AudioEncoding.BINARY

    @classmethod
    def from_settings(cls, settings: Settings, endpoint: Endpoint, token: str) -> SessionConfig:
        return cls(
            endpoint=endpoint,
            token=token,
            encoding=settings.audio_encoding,
            throttle=settings.adaptive_throttling,
            summary_timeout=settings.summary_timeout_seconds,
            pipe=PipeConfig(buffer_seconds=settings.client_backlog_seconds),
        )
