"""The one status people glance at: is my meeting being transcribed, live and completely?

Pure, injected clock; the session owns one, updates it a few times a second and publishes its
``StatusReport`` in every snapshot, so the light, its reason, the tray icon and tooltip, notifications
and every status line of the window (and headless ``level`` events) come from the same value.

Lights (``Light``), from the evidence of the whole pipeline, not only the server's queues:

* ``LIVE`` (green): streaming, measured, nothing held back, nothing lost lately: live and complete.
* ``BEHIND`` (amber): nothing is being lost, but the transcript lags: audio held on the client (the
  backend is slow, a reconnect, a stall: every connection attempt after the connection went down
  stays amber until audio streams again), or the backend's queues are filling. Says how far behind.
  It comes EARLY: a hold or a server queue whose floor keeps growing turns it amber before any
  threshold is crossed (``trend_seconds`` of growth; the saw-tooth of healthy chunked consumption,
  which falls back near zero every chunk, is not growth), so people get a warning before anything is lost.
* ``LOSING`` (red): audio is being lost (the losses grew in the last ``red_hold_seconds``: the server
  dropped some, the client had to shed some, a connection took some down), or the connection is
  down and the client's hold is about to run out.
* ``UNKNOWN`` (grey): not measured yet (first connecting, waiting for the first metrics) or the backend
  stopped reporting; ``IDLE`` (grey): no session; ``FAILED``: the last session ended in an error.

Hysteresis, so the light does not flicker: red stays ``red_hold_seconds`` after the last new loss;
amber stays until the backlog's floor (its saw-tooth's low) has been under ``clear_seconds`` for
``amber_hold_seconds``, counted from after the amber began. The
thresholds live in ``StatusConfig`` and nowhere else. The server's own backpressureLevel (queues and
drops, ``app.core.backpressure``) stays available beside it as ``server_level``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from app.core.level import Level, LevelReport
from app.core.losses import LossSpan
from app.core.session_state import ConnectionState
from app.core.status_report import IDLE_STATUS, Light, StatusReport


@dataclass(frozen=True, slots=True)
class StatusConfig:
    behind_seconds: float = 2.0  # held (or queued on the server) this long: amber
    clear_seconds: float = 0.5  # amber clears once the backlog stays under this...
    amber_hold_seconds: float = 3.0  # ...for this long
    red_hold_seconds: float = 5.0  # red while a loss grew this recently
    loss_window_seconds: float = 10.0  # the loss a red light names is among those this recent
    trend_seconds: float = 1.5  # a backlog growing steadily this long: amber, before any threshold
    trend_min_growth: float = 0.3  # seconds of backlog gained per second that count as growing
    sawtooth_seconds: float = 2.5  # a healthy backlog is back near zero at least this often
    trend_floor: float = 0.5  # ...below this: the trend counts once the backlog's floor is above it
    hold_low_share: float = 0.8  # disconnected and the hold this full: red (it is about to run out)
    silence_dbfs: float = -60.0  # an input below this level is silent
    silence_warn_seconds: float = 30.0  # one source silent this long while the other is not: warn

    def __post_init__(self) -> None:
        if not 0 < self.clear_seconds < self.behind_seconds:
            raise ValueError("need 0 < clear_seconds < behind_seconds")


@dataclass(frozen=True, slots=True)
class StatusInputs:
    """What the status is made of, read from the session a few times a second."""

    connection: ConnectionState
    server: LevelReport  # the backend's queues and drops
    held_seconds: Mapping[str, float]  # audio waiting on the client, per source
    hold_share: Mapping[str, float]  # how full each source's hold is (0-1)
    losses: Sequence[LossSpan]  # every loss so far (session seconds)
    elapsed: float  # session seconds now
    error: str | None = None  # set when the session ended in an error
    input_dbfs: Mapping[str, float] | None = None  # each source's input level lately


_RUNNING = {ConnectionState.CHECKING, ConnectionState.CONNECTING, ConnectionState.STREAMING,
            ConnectionState.RECONNECTING, ConnectionState.STOPPING}
SOURCE_WORDS = {"mic": "microphone", "system": "system audio"}


class StatusModel:
    """See the module docstring. ``update`` a few times a second; ``report`` at any time."""

    def __init__(self, clock: Callable[[], float], config: StatusConfig | None = None) -> None:
        self._clock = clock
        self.config = config or StatusConfig()
        self._report = IDLE_STATUS
        self._backlog: deque[tuple[float, float]] = deque(maxlen=64)  # (time, backlog seconds)
        self._calm_since: float | None = None
        self._last_loss_at: float | None = None  # clock time a loss was last seen growing
        self._lost_seen = 0.0
        self._heard: dict[str, float] = {}  # source -> clock time its input was last above silence
        self._down = False  # the connection went down and has not streamed since

    def report(self) -> StatusReport:
        return self._report

    def reset(self) -> None:
        self.__init__(self._clock, self.config)  # type: ignore[misc]

    def update(self, inputs: StatusInputs) -> StatusReport:
        now = self._clock()
        lost = round(sum(span.seconds for span in inputs.losses), 2)
        if lost > self._lost_seen + 1e-6:
            self._last_loss_at = now
        self._lost_seen = max(self._lost_seen, lost)
        held = max(inputs.held_seconds.values(), default=0.0)
        fresh = [s.backlog_seconds for s in inputs.server.sources if s.fresh]
        queued = max(fresh, default=0.0)
        behind = held + queued
        if fresh:
            self._backlog.append((now, behind))
        else:  # the server's part is unknown, not zero: a first measurement after this is no growth
            self._backlog.clear()
        light, headline, detail = self._judge(inputs, now, held, behind, lost)
        since = now if light is not self._report.light else self._report.since
        silent = self._silent_source(inputs, now)
        self._report = StatusReport(light, headline, detail, round(behind, 1), lost, inputs.server.level,
                                    since, silent)
        return self._report

    # ------------------------------------------------------------------ the rules

    def _judge(self, inputs: StatusInputs, now: float, held: float, behind: float,
               lost: float) -> tuple[Light, str, str]:
        cfg, conn = self.config, inputs.connection
        total = f"{lost:.0f} s of audio could not be transcribed" if lost >= 0.5 else ""
        if conn is ConnectionState.FAILED:
            return Light.FAILED, "Failed", inputs.error or "The session ended with an error."
        if conn not in _RUNNING:
            self._calm_since = None
            return Light.IDLE, "Not streaming", (f"Last meeting: {total}." if total else "")
        if self._last_loss_at is not None and now - self._last_loss_at < cfg.red_hold_seconds:
            recent = _recent_loss(inputs.losses, inputs.elapsed, cfg.loss_window_seconds)
            why = recent.cause.reason if recent is not None else "audio was lost"
            return Light.LOSING, f"Losing audio: {why}", total + "." if total else ""
        if conn is ConnectionState.STREAMING:
            self._down = False
        elif conn is ConnectionState.RECONNECTING:
            self._down = True
        connecting = conn in (ConnectionState.CHECKING, ConnectionState.CONNECTING)
        # An attempt after the connection went down is the same outage (a frozen backend's kernel may
        # accept a connection that then hangs for many seconds): the light stays the outage's.
        outage = connecting and (self._down or held >= cfg.behind_seconds)
        if conn is ConnectionState.RECONNECTING or outage:
            self._calm_since = None  # amber: a calm before it does not count towards clearing it
            if max(inputs.hold_share.values(), default=0.0) >= cfg.hold_low_share:
                return Light.LOSING, "Connection down: held audio is about to run out", _held(held)
            headline = "Connection down, reconnecting" if self._down else "Connecting, audio held"
            return Light.BEHIND, headline, _held(held) or "Audio is kept meanwhile."
        if connecting:
            return Light.UNKNOWN, "Connecting", _held(held)
        measured = any(s.updated_at > 0 for s in inputs.server.sources)
        # The backpressure model says "normal" while it waits for the first metrics: not a measurement.
        if (inputs.server.level in (Level.UNKNOWN, Level.IDLE) or not measured) and held < cfg.behind_seconds:
            if conn is ConnectionState.STOPPING:
                return Light.UNKNOWN, "Finishing", "Waiting for the final summary."
            why = "The backend has not reported its load for a while." if measured else ""
            return Light.UNKNOWN, "Not measured yet" if not measured else "Backend silent", why
        growing = self._growing(now)
        queues_filling = inputs.server.level.severity > 0
        amber_now = behind >= cfg.behind_seconds or growing or queues_filling
        if amber_now:
            self._calm_since = None
        elif self._floor(now, behind) < cfg.clear_seconds:  # the saw-tooth's low, as for growth
            self._calm_since = self._calm_since if self._calm_since is not None else now
        else:
            self._calm_since = None  # between the thresholds: no news
        was_amber = self._report.light is Light.BEHIND
        calm_long = self._calm_since is not None and now - self._calm_since >= cfg.amber_hold_seconds
        if amber_now or (was_amber and not calm_long):
            return Light.BEHIND, self._behind_words(behind, growing, queues_filling), total
        if conn is ConnectionState.STOPPING:
            return Light.LIVE, "Finishing", "Sending the last audio and waiting for the summary."
        if total:
            return Light.LIVE, "Live", f"{total} earlier."
        return Light.LIVE, "Live and complete", ""

    def _behind_words(self, behind: float, growing: bool, filling: bool) -> str:
        if behind < 1.0:
            return "Falling behind: the backend is filling up" if filling else "Falling behind"
        trend = "falling further behind" if growing else "catching up"
        return f"Transcript {behind:.0f} s behind, {trend}"

    def _floor(self, now: float, behind: float) -> float:
        """The lowest backlog of the last ``sawtooth_seconds``: a healthy chunked backend's queue peaks
        between chunks (0.5 s and more on the real server) and is calm if it falls back below
        ``clear_seconds`` at least that often."""
        since = now - self.config.sawtooth_seconds - 1e-9
        return min((b for t, b in self._backlog if t >= since), default=behind)

    def _growing(self, now: float) -> bool:
        """The backlog's FLOOR has grown for ``trend_seconds`` (anticipates amber from the trend).

        A healthy backlog saw-tooths: a chunk's audio accumulates in the server's queue (and, one
        recognizer serving two sources in turn, while the other source's chunk is transcribed), then
        the recognizer takes it and the backlog falls back near zero, at least every
        ``sawtooth_seconds``. Its rising edges are no news; what counts is the lowest backlog of the
        last ``sawtooth_seconds`` (the floor): above ``trend_floor`` and rising steadily, the
        recognizer is not catching up between chunks."""
        cfg = self.config
        horizon = cfg.sawtooth_seconds + cfg.trend_seconds + 0.3
        samples = [(t, b) for t, b in self._backlog if now - t <= horizon]
        if not samples or now - samples[0][0] < cfg.sawtooth_seconds + cfg.trend_seconds - 1e-9:
            return False

        def floor(at: float) -> float:
            return min(b for t, b in samples if at - cfg.sawtooth_seconds - 1e-9 <= t <= at + 1e-9)

        now_floor, then_floor = floor(now), floor(now - cfg.trend_seconds)
        rate = (now_floor - then_floor) / cfg.trend_seconds
        return now_floor >= cfg.trend_floor and rate >= cfg.trend_min_growth

    def _silent_source(self, inputs: StatusInputs, now: float) -> str | None:
        """A source silent for ``silence_warn_seconds`` while another is not (a muted or wrong device)."""
        levels = inputs.input_dbfs or {}
        for source, dbfs in levels.items():
            if dbfs > self.config.silence_dbfs or source not in self._heard:
                self._heard[source] = now if dbfs > self.config.silence_dbfs else self._heard.get(source, now)
        if len(levels) < 2 or inputs.connection not in _RUNNING:
            return None
        for source, heard in self._heard.items():
            others = [t for s, t in self._heard.items() if s != source]
            if now - heard >= self.config.silence_warn_seconds and any(now - t < 2.0 for t in others):
                return source
        return None


def _recent_loss(losses: Sequence[LossSpan], elapsed: float, window: float) -> LossSpan | None:
    recent = [span for span in losses if elapsed - span.end <= window]
    return max(recent, key=lambda span: span.end) if recent else None


def _held(seconds: float) -> str:
    return f"{seconds:.0f} s of audio held, sent when the backend can take it." if seconds >= 1 else ""
