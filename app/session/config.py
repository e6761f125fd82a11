"""What a session needs to know, as one frozen value (built by headless mode or the UI from ``Settings``).

A config that would send the token unencrypted to another computer without the user's explicit
permission cannot be made (``ConfigError``, ``app.core.endpoint.check_token_transport``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.endpoint import Endpoint, check_token_transport
from app.core.reconnect import ReconnectPolicy
from app.core.settings import AudioEncoding, Settings
from app.session.pipeline import PipeConfig
from app.transport.opening import ACK_TIMEOUT_SECONDS

# How often captured frames are read and sent (12 frames per source per tick). Almost all of the
# client's CPU is paid per wake-up, on a cold cache, whatever the work (python -m app.bench pipeline,
# two sources, on the 2-core development VM, medians of 5 runs each): 40 ms 2.6-2.7 % of a core,
# 60 ms 1.8 %, 80 ms 1.5 %. The whole app with two live devices and throttling on (python -m app.bench
# app --minutes 2, paired runs under the bench lock, with the capture blocks the same length as the
# tick, app.capture.live): headless 3.00 % at 80 ms, 1.80 % at 160 ms; minimized to the tray 3.40 % at
# 80 ms, 2.25 % at 160 ms, 2.00 % at 240 ms (the target is 2 %). It costs latency that nobody sees:
# frames leave a few hundred ms after their capture, in front of a server queue of 2 s and a
# recognizer that answers after each 2 s chunk. A visible window's meters follow the tick (4 Hz).
DEFAULT_TICK_SECONDS = 0.24


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """``pipe.buffer_seconds`` (the setting ``client_backlog_seconds``, default 120) is THE client-side
    bound, per source: a source's unsent audio (its hold) never exceeds it; beyond it silence, then the
    oldest audio is shed, counted and located (``app.session.intake``). Two minutes ride out a frozen
    backend and its keepalive timeout (about 40 s) plus the reconnect, at 3.8 MB per source."""

    endpoint: Endpoint
    token: str = field(default="", repr=False)  # never in a repr, so never in a log line
    encoding: AudioEncoding = AudioEncoding.AUTO  # AUTO: binary for local hosts, JSON otherwise
    throttle: bool = False  # adaptive throttling; also announced as client_vad_enabled
    summary_timeout: float = 30.0  # wait for final_summary after stop
    ack_timeout: float = ACK_TIMEOUT_SECONDS  # connected + ack; above the server's 5 s capacity wait
    health_check: bool = True
    health_wait_seconds: float = 30.0  # how long to poll a 503 (model loading) before giving up
    pipe: PipeConfig = field(default_factory=PipeConfig)
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    tick_seconds: float = DEFAULT_TICK_SECONDS  # see DEFAULT_TICK_SECONDS for the trade-off
    stop_when_sources_finish: bool = True  # replays: end the session when every file has been played
    # At stop, the longest the flush of unsent audio may take (it needs the backlog at the backend's
    # observed drain rate); what is not sent by then is given up, counted and reported, and the
    # summary is still asked for.
    flush_timeout: float = 120.0
    # At stop, after the flush: 0.52 s of silence per source after its last frame, so the recognizer's
    # end-of-stream rule (a remainder under 0.5 s is discarded) can only discard silence
    # (app.core.stop_pad). Off: the last < 0.5 s after a whole chunk may go untranscribed.
    stop_padding: bool = True
    # The user allowed the token to go unencrypted to this endpoint although it is another computer
    # (--allow-insecure, or the setting for this URL); without it such a config cannot be made.
    allow_insecure_token: bool = False

    def __post_init__(self) -> None:
        check_token_transport(self.endpoint, self.token, self.allow_insecure_token)

    @property
    def binary_audio(self) -> bool:
        return self.encoding.is_binary(self.endpoint.is_local)

    @classmethod
    def from_settings(cls, settings: Settings, endpoint: Endpoint, token: str) -> SessionConfig:
        return cls(
            endpoint=endpoint,
            token=token,
            encoding=settings.audio_encoding,
            throttle=settings.adaptive_throttling,
            summary_timeout=settings.summary_timeout_seconds,
            pipe=PipeConfig(buffer_seconds=settings.client_backlog_seconds),
            allow_insecure_token=settings.allows_insecure_token(endpoint),
        )
