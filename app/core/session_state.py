"""What a session publishes: immutable snapshots for the UI (polled on a timer) and discrete events
for the headless JSON-lines output and logs. Pure data, no behaviour; ``app.session`` produces them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.core.level import IDLE_REPORT, LevelReport
from app.core.losses import LossSpan, SourceLosses
from app.core.messages import CardsEvent, EntitiesEvent, MetricsEvent, Source, StatusEvent
from app.core.status_report import IDLE_STATUS, StatusReport


class ConnectionState(enum.StrEnum):
    IDLE = "idle"  # no session
    CHECKING = "checking"  # GET /health
    CONNECTING = "connecting"  # socket + start handshake
    STREAMING = "streaming"  # start acknowledged, audio flowing
    RECONNECTING = "reconnecting"  # waiting out a backoff delay
    STOPPING = "stopping"  # tail flushed, stop sent, waiting for final_summary
    STOPPED = "stopped"  # ended cleanly (with or without a summary)
    FAILED = "failed"  # ended on an error (see SessionSnapshot.error)


class StopOutcome(enum.StrEnum):
    SUMMARY = "summary"  # final_summary received
    NO_SUMMARY = "no_summary"  # stop sent, summary never came within the wait
    FAILED = "failed"  # the session ended on an error
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class SourceCounters:
    """Client-side counts for one source. Seconds = frames × 0.02.

    Every captured frame is in exactly one bucket: ``captured = sent + dropped + shed + skipped +
    buffered``. In ``SessionEnded``, ``buffered_frames`` are the frames never sent (left waiting when
    the session ended: stopped while disconnected, or the flush at stop ran out of time).
    """

    captured_frames: int = 0
    sent_frames: int = 0
    dropped_frames: int = 0  # dropped by the client's per-source backlog bound, oldest first (not the server)
    buffered_frames: int = 0  # waiting on the client right now (send buffer + frames throttling holds)
    send_lag_seconds: float = 0.0  # how far sending is behind capture (the last frame sent)
    mean_send_lag_seconds: float = 0.0  # over every frame sent: send time - capture time of its start
    max_send_lag_seconds: float = 0.0
    skipped_frames: int = 0  # silence adaptive throttling chose not to send
    shed_frames: int = 0  # shed by adaptive throttling when its hold was full (silence first)
    padding_frames: int = 0  # silence sent after the last frame at stop (app.core.stop_pad): in no bucket

    @property
    def lost_frames(self) -> int:
        """Audio the client itself threw away: backlog drops plus throttling's shedding."""
        return self.dropped_frames + self.shed_frames


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    """A transcript line in session time (rebased across connections)."""

    source: str
    text: str
    t0: float
    t1: float
    is_final: bool
    connection_index: int = 0
    segment_id: str | None = None
    speaker: str | None = None
    confidence: float | None = None
    # the times could not be placed exactly (audio the server dropped around it): off by up to error_seconds
    approximate: bool = False
    error_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    state: ConnectionState = ConnectionState.IDLE
    detail: str = ""  # human line for the state ("Reconnecting in 2.1 s (attempt 3 of 8)")
    session_id: str = ""
    elapsed_seconds: float = 0.0
    level: LevelReport = IDLE_REPORT
    last_status: StatusEvent | None = None
    metrics: Mapping[str, MetricsEvent] = field(default_factory=dict)  # latest per source
    sources: Mapping[Source, SourceCounters] = field(default_factory=dict)
    transcript: tuple[TranscriptSegment, ...] = ()  # finals, then the live partial per source
    transcript_revision: int = 0  # bumps whenever ``transcript`` changes
    entities: EntitiesEvent | None = None
    cards: CardsEvent | None = None
    summary_markdown: str | None = None
    reconnects: int = 0
    server_dropped_frames: int = 0
    error: str | None = None  # the message shown to the user when state is FAILED
    warnings: tuple[str, ...] = ()  # recent non-fatal problems (device lost, unknown message)
    throttle_note: str = ""  # what adaptive throttling is doing, "" when off or idle
    losses: tuple[LossSpan, ...] = ()  # every loss so far, located in session time (app.core.losses)
    status: StatusReport = IDLE_STATUS  # THE status: the light, its words (app.core.status)
    input_dbfs: Mapping[str, float] = field(default_factory=dict)  # each source's input level lately


# --------------------------------------------------------------------------- discrete events


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Base for events; ``t`` is seconds since the session started."""

    t: float


@dataclass(frozen=True, slots=True)
class StateChanged(SessionEvent):
    state: ConnectionState
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ServerStatus(SessionEvent):
    status: StatusEvent


@dataclass(frozen=True, slots=True)
class ServerMetrics(SessionEvent):
    metrics: MetricsEvent


@dataclass(frozen=True, slots=True)
class TranscriptChanged(SessionEvent):
    segment: TranscriptSegment


@dataclass(frozen=True, slots=True)
class LevelChanged(SessionEvent):
    report: LevelReport


@dataclass(frozen=True, slots=True)
class Reconnecting(SessionEvent):
    attempt: int
    delay_seconds: float
    reason: str


@dataclass(frozen=True, slots=True)
class SummaryReady(SessionEvent):
    markdown: str
    segments: int


@dataclass(frozen=True, slots=True)
class SessionFailed(SessionEvent):
    """The session ended on an error (always its last failure; it is not retrying any more).

    ``terminal``: the KIND of failure. True: retrying cannot help (authentication, protocol,
    configuration, audio devices, a bug). False: a transient failure (unreachable, not ready, socket
    lost) that was retried with the reconnect policy until it gave up, at the health check as on
    the WebSocket alike. ``fix_in_settings``: the user can fix it there (the backend address, a host
    that does not exist, the token), so a window offers to open them.
    """

    message: str
    terminal: bool
    fix_in_settings: bool = False


@dataclass(frozen=True, slots=True)
class SessionWarning(SessionEvent):
    message: str


@dataclass(frozen=True, slots=True)
class ThrottleChanged(SessionEvent):
    """What adaptive throttling does changed (text or mode; at most ~2 per second, the latest state).

    ``mode``: ``app.core.throttle.ThrottleMode`` value ("off", "live", "skip_silence", "mic_first").
    The per-source maps (source name -> seconds) are cumulative for shed and skipped audio.
    """

    enabled: bool
    mode: str
    text: str
    held_seconds: Mapping[str, float] = field(default_factory=dict)
    shed_seconds: Mapping[str, float] = field(default_factory=dict)
    skipped_seconds: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionEnded(SessionEvent):
    outcome: StopOutcome
    sources: Mapping[Source, SourceCounters]
    server_dropped_frames: int
    reconnects: int  # outages: a lost (or refused) connection counts once, however many attempts it took
    message: str = ""
    losses: Mapping[str, SourceLosses] = field(default_factory=dict)  # per source: counted and located


@dataclass(frozen=True, slots=True)
class StatusChanged(SessionEvent):
    """The status light or its words changed (the words at most about once a second)."""

    report: StatusReport


@dataclass(frozen=True, slots=True)
class LossRecorded(SessionEvent):
    """Audio was lost (or a loss was located more precisely): ``span`` as the ledger now holds it."""

    span: LossSpan
