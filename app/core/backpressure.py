"""The backpressureLevel model: server ``status`` + ``metrics`` + connection state + time in,
level + one-line reason + per-source numbers out (CONTRACT.md sections 4.1, 4.2, 5 and 6). This module
holds the level rules; the vocabulary (``Level``, ``LevelReport``) is ``app.core.level`` and the
per-source load (queue numbers, attributed drops) ``app.core.source_load``.

Pure: no I/O; the clock is injected so tests step time instead of sleeping. One instance per session,
fed from the event-loop thread; ``report()`` evaluates staleness at the current clock time, so the caller
polls it on a timer (the UI at ~2-30 Hz, the session once per tick).

Rules (thresholds are ``BackpressureConfig`` fields):

* Worst source wins. A source enters ``buffering`` above 0.85 fill, ``overloaded`` above 0.95 fill or
  when the server dropped audio (``dropped_recent`` > 0, a grown ``dropped_total``, a ``backpressure``
  status). Queue ``buffering`` / ``overloaded`` statuses (they name a ``source``) raise the level too.
  The degrade ladder's statuses (a ``degrade_level``, no ``source``) are information, not evidence of
  a full queue: the real server sends ``buffering`` about 10 s into every healthy session (CONTRACT.md
  10), so they never raise the level. Nor does ``realtime_factor``: it is measured between
  transcripts and sits near 1.0 on a healthy server.
* Hysteresis, because the server never says "recovered": the level falls back to ``normal`` only after
  every fresh source stayed below 0.70 with no drops for ``hold_seconds``; ``overloaded`` steps down to
  ``buffering`` after every source stayed at or below 0.85 with no drops for ``hold_seconds``. Only
  metrics drive recovery; a status can raise the level but never clears it.
* The two-source re-arm quirk (section 5): a healthy source re-arms the server's warning flag, so
  ``overloaded`` / ``backpressure`` statuses repeat every second. A status at or below the current level
  carries no news and leaves the hold timer alone; a ``backpressure`` status resets it only if its
  session total (``dropped_frames``) grew. Metrics alone decide whether the episode is over, so repeats
  neither block recovery nor make the light flap.
* ``unknown``: streaming but no metrics from any source for ``stale_seconds``, or the connection is
  down. A new connection starts a fresh server session (empty queues), so for the first
  ``stale_seconds`` the last level stands while waiting for the first metrics. ``idle``: no session.
* Drops are counted session-wide from ``dropped_total`` (and ``backpressure``'s ``dropped_frames``, the
  same session total), in chunks of one 20 ms frame each: ``dropped_seconds`` is the size of ONE drop,
  never a total, so it is not used. Which source lost them the server does not say (``dropped_recent``
  lands on whichever source comes first in a tick); the session attributes them from its mirror of each
  lane (``app.core.server_lane``) through ``attribute``, and only attributed drops appear per source.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from app.core.drop_counter import DropCounter
from app.core.level import Level, LevelReport, source_label
from app.core.messages import FRAME_SECONDS, MetricsEvent, Source, StatusEvent, StatusState
from app.core.session_state import ConnectionState
from app.core.source_load import SourceTrack


@dataclass(frozen=True, slots=True)
class BackpressureConfig:
    buffering_above: float = 0.85
    overloaded_above: float = 0.95
    clear_below: float = 0.70
    hold_seconds: float = 5.0
    stale_seconds: float = 3.0
    drop_window_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 < self.clear_below <= self.buffering_above < self.overloaded_above <= 1.0:
            raise ValueError("need 0 < clear_below <= buffering_above < overloaded_above <= 1")
        if min(self.hold_seconds, self.stale_seconds, self.drop_window_seconds) <= 0:
            raise ValueError("hold, stale and drop-window durations must be positive")


_LIVE = frozenset({"streaming", "stopping"})  # ConnectionState values in which the server sends metrics
_NO_SESSION = frozenset({"idle", "stopped", "failed"})
_SOURCE_IN_MESSAGE = re.compile(r"source\s*[=:]\s*['\"]?(\w+)", re.IGNORECASE)


class BackpressureModel:
    """See the module docstring. Methods never raise on any input the protocol can produce."""

    def __init__(self, clock: Callable[[], float], config: BackpressureConfig | None = None) -> None:
        self._clock = clock
        self._cfg = config or BackpressureConfig()
        self.reset()

    def reset(self) -> None:
        """Forget everything: call at the start of a new session."""
        now = self._clock()
        self._connection = "idle"
        self._streaming_since = now
        self._latched = Level.NORMAL  # the level the evidence has driven us to, while live
        self._latched_since = now
        self._cause = ""  # reason text of the status that raised the level, if one did
        self._calm_since: float | None = None  # all fresh sources < clear_below, no drops, since
        self._quiet_since: float | None = None  # all fresh sources <= buffering_above, no drops, since
        self._tracks: dict[str, SourceTrack] = {}
        self._drop_counter = DropCounter()  # the server's session-wide count, on this connection
        self._attributed: dict[str, int] = {}  # per source: frames attributed on this connection
        self._dropped_total = 0.0
        self._reported = Level.IDLE
        self._reported_since = now

    # ----------------------------------------------------------------------------------- inputs

    def on_connection(self, state: ConnectionState | str) -> None:
        now = self._clock()
        self._advance(now)
        was_live, had_session = self._connection in _LIVE, self._connection not in _NO_SESSION
        if not had_session and str(state) not in _NO_SESSION:
            self.reset()  # a new session starts from nothing even if the caller forgot reset()
        self._connection = str(state)
        if self._connection in _LIVE and not was_live:
            # A (re)connection is a brand-new server session: empty queues, drop count from 0.
            self._streaming_since = now
            self._drop_counter = DropCounter()
            self._attributed = {}
            self._calm_since = self._quiet_since = None
            for track in self._tracks.values():
                track.metrics_at = None
        self._refresh(now)

    def on_metrics(self, ev: MetricsEvent) -> None:
        now = self._clock()
        self._advance(now)
        if self._connection not in _LIVE:
            return  # a late message from a connection that is gone says nothing about the next one
        name = ev.source or Source.SYSTEM.value  # the contract's default source
        track = self._tracks.setdefault(name, SourceTrack())
        track.read(ev)
        track.metrics_at = now
        new_frames = self._drop_counter.new_frames(ev.dropped_total, ev.dropped_recent, now)
        dropped = new_frames > 0 or (ev.dropped_recent or 0) > 0
        self._dropped_total += new_frames * FRAME_SECONDS
        self._update_calm(now, dropped)
        cfg = self._cfg
        if dropped or track.fill > cfg.overloaded_above:
            self._raise(Level.OVERLOADED, now)
        elif track.fill > cfg.buffering_above:
            self._raise(Level.BUFFERING, now)
        self._refresh(now)

    def on_status(self, ev: StatusEvent) -> None:
        now = self._clock()
        self._advance(now)
        state = ev.known_state if self._connection in _LIVE else None
        if ev.degrade_level and not ev.source and state is not StatusState.BACKPRESSURE:
            state = None  # the degrade ladder: information only (see the module docstring)
        if state in (StatusState.BUFFERING, StatusState.OVERLOADED, StatusState.BACKPRESSURE):
            source = ev.source or self._source_in(ev.message)
            level = Level.BUFFERING if state is StatusState.BUFFERING else Level.OVERLOADED
            news = True
            if state is StatusState.BACKPRESSURE:
                news = self._status_drops(ev, source, now)
            if news:
                self._raise(level, now, self._status_cause(ev, source))
        self._refresh(now)

    def attribute(self, source: str, frames: int) -> None:
        """The session's count of ``source``'s server drops on this connection (from its lane mirror);
        increases are booked to the source now (they never decrease what was booked)."""
        now = self._clock()
        new = frames - self._attributed.get(source, 0)
        if new > 0:
            self._attributed[source] = frames
            self._tracks.setdefault(source, SourceTrack()).add_drop(now, new * FRAME_SECONDS)

    # ----------------------------------------------------------------------------------- output

    def report(self) -> LevelReport:
        now = self._clock()
        self._advance(now)
        level, reason = self._evaluate(now)
        self._refresh(now)
        window = self._cfg.drop_window_seconds
        loads = tuple(t.as_source_load(name, now, window, self._is_fresh(t, now))
                      for name, t in sorted(self._tracks.items()))
        return LevelReport(level, reason, loads, self._reported_since, self._dropped_total)

    @property
    def level(self) -> Level:
        """The level as of the current clock time (same as ``report().level``)."""
        now = self._clock()
        self._advance(now)
        return self._evaluate(now)[0]

    # ----------------------------------------------------------------------------------- internals

    def _is_fresh(self, track: SourceTrack, now: float) -> bool:
        return track.metrics_at is not None and now - track.metrics_at <= self._cfg.stale_seconds

    def _fresh(self, now: float) -> list[tuple[str, SourceTrack]]:
        return [(n, t) for n, t in self._tracks.items() if self._is_fresh(t, now)]

    def _status_drops(self, ev: StatusEvent, source: str | None, now: float) -> bool:
        """Account a ``backpressure`` status; True unless it repeats a total we already counted."""
        frames = ev.dropped_frames
        if frames is None:
            return True  # cannot tell new from repeated: believe the server
        new = self._drop_counter.new_frames(frames, None, now)  # the total de-duplicates against metrics
        if new > 0:
            self._dropped_total += new * FRAME_SECONDS
            self._calm_since = self._quiet_since = None
        return new > 0

    def _update_calm(self, now: float, dropped: bool) -> None:
        fills = [t.fill for _, t in self._fresh(now)]
        calm = not dropped and all(f < self._cfg.clear_below for f in fills)
        quiet = not dropped and all(f <= self._cfg.buffering_above for f in fills)
        self._calm_since = (self._calm_since if self._calm_since is not None else now) if calm else None
        self._quiet_since = (self._quiet_since if self._quiet_since is not None else now) if quiet else None

    def _raise(self, level: Level, now: float, cause: str = "") -> None:
        if level.severity > self._latched.severity:
            self._latched, self._latched_since, self._cause = level, now, cause
            self._calm_since = self._quiet_since = None  # the hold starts again from here

    def _advance(self, now: float) -> None:
        """Apply recoveries whose hold time has passed; forget calm that no fresh metrics back."""
        if self._connection not in _LIVE:
            return
        if not self._fresh(now):
            self._calm_since = self._quiet_since = None
            return
        hold = self._cfg.hold_seconds
        if self._latched.severity > 0 and self._calm_since is not None and now - self._calm_since >= hold:
            self._latched, self._latched_since, self._cause = Level.NORMAL, self._calm_since + hold, ""
        elif (
            self._latched is Level.OVERLOADED
            and self._quiet_since is not None
            and now - self._quiet_since >= hold
        ):
            self._latched, self._latched_since, self._cause = Level.BUFFERING, self._quiet_since + hold, ""

    def _refresh(self, now: float) -> None:
        """Track when the reported level last changed, for ``LevelReport.since``."""
        level, _ = self._evaluate(now)
        if level is not self._reported:
            entered = self._latched_since if level is self._latched else now
            self._reported = level
            self._reported_since = entered if entered > self._reported_since else now

    def _evaluate(self, now: float) -> tuple[Level, str]:
        conn = self._connection
        if conn in _NO_SESSION:
            return Level.IDLE, "Not streaming"
        if conn == "reconnecting":
            return Level.UNKNOWN, "Connection down"
        if conn not in _LIVE:
            return Level.UNKNOWN, "Connecting"
        fresh = self._fresh(now)
        if not fresh:
            seen = [t.metrics_at for t in self._tracks.values() if t.metrics_at is not None]
            last = max(seen, default=None)
            age = now - (last if last is not None else self._streaming_since)
            if last is not None or age > self._cfg.stale_seconds:
                return Level.UNKNOWN, f"No metrics for {age:.0f} s"
            return self._latched, self._cause or "Streaming, waiting for the first metrics"
        if self._latched is Level.NORMAL:
            return Level.NORMAL, "Backend healthy"
        return self._latched, self._elevated_reason(now, fresh)

    def _elevated_reason(self, now: float, fresh: list[tuple[str, SourceTrack]]) -> str:
        window = self._cfg.drop_window_seconds

        def recent(t: SourceTrack) -> float:
            return t.recent_drops(now, window)

        name, worst = max(fresh, key=lambda item: (recent(item[1]) > 0, item[1].fill))
        label, pct, dropped = source_label(name), round(worst.fill * 100), recent(worst)
        lost = f"{_seconds(dropped)} dropped in the last {window:.0f} s"
        if dropped == 0 and self._drop_counter.recent(now, window) and self._calm_since is None:
            unattributed = self._drop_counter.recent(now, window) * FRAME_SECONDS  # whose: not known yet
            return f"The backend dropped {_seconds(unattributed)} in the last {window:.0f} s"
        if self._calm_since is not None:  # every queue is low again; the hold is running
            below = f"{self._cfg.clear_below * 100:.0f} %"
            held = f"{now - self._calm_since:.0f} of {self._cfg.hold_seconds:.0f} s"
            return f"Recovering: queues below {below} for {held}" + (f", {lost}" if dropped > 0 else "")
        if dropped > 0:
            return f"{label} queue {pct} % full, {lost}"
        if worst.fill < self._cfg.clear_below and self._cause:
            return self._cause  # raised by a status the metrics do not (yet) show
        return f"{label} queue {pct} % full ({worst.backlog:.1f} s backlog)"

    @staticmethod
    def _source_in(message: str) -> str | None:
        """``backpressure`` names its source only inside the message: "...(source=system)"."""
        found = _SOURCE_IN_MESSAGE.search(message or "")
        return found.group(1).lower() if found else None

    def _status_cause(self, ev: StatusEvent, source: str | None) -> str:
        who = f" ({source_label(source)})" if source else ""
        details = []
        if ev.degrade_level:
            details.append(f"degrade level {ev.degrade_level}")
        if ev.backlog_seconds is not None:
            details.append(f"{ev.backlog_seconds:.1f} s backlog")
        if ev.state == StatusState.BACKPRESSURE:
            details.append(f"{self._dropped_total:.1f} s dropped so far")
        text = f"Server reports {ev.state}{who}" + (f": {', '.join(details)}" if details else "")
        return f"{text} - {ev.message}" if ev.message else text


def _seconds(dropped: float) -> str:
    """A drop as people read it: one 20 ms frame is not "0.0 s"."""
    return f"{dropped:.1f} s" if dropped >= 0.05 or dropped <= 0 else f"{dropped * 1000:.0f} ms"
