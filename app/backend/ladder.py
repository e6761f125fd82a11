"""The degrade ladder (CONTRACT.md section 10), as the real server runs it. Pure, clock injected.

One ladder per session, shared by its sources. It is fed real-time-factor samples ``r`` (wall time
between two transcripts of a source / the audio the later one covers; see ``rtf.FinalsMeter``) and maps
each to a target level: r >= 1.2 EMERGENCY, >= 1.0 DEGRADE, >= 0.8 WARNING, else NORMAL.

* Up: only after at least ``MIN_LEVEL_SECONDS`` (10 s) at the current level, counted from the ladder's
  creation for the first move; then straight to the target (levels may be skipped).
* Down: to a lower target only if the mean of the samples of the last 30 s is below 0.7; at the target
  level itself, one step down only if that mean is below 0.595. A healthy session's samples sit near
  1.0, so in practice the ladder never comes back down.
* Every move reports the action the real server names for it (``increase_chunk_size``,
  ``reduce_quality``, ``drop_chunks``, ``failover``, else ``none``). Actions change nothing here: the
  real server's do not affect a running stream either (and the live listener never drops on them).

``rtf_avg(10)`` is the mean of the samples of the last 10 s (0.0 when there are none), which metrics
report as ``rtf_avg_10s``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

MIN_LEVEL_SECONDS = 10.0
RECOVERY_WINDOW_SECONDS = 30.0
HISTORY_SECONDS = 60.0
WARNING_RTF = 0.8
DEGRADE_RTF = 1.0
EMERGENCY_RTF = 1.2
RECOVERY_RTF = 0.7
RECOVERY_STEP_RTF = RECOVERY_RTF * 0.85  # stepping down from the target level itself needs more margin


class DegradeLevel(enum.IntEnum):
    NORMAL = 0
    WARNING = 1
    DEGRADE = 2
    EMERGENCY = 3
    FAILOVER = 4


_ACTIONS = {
    (DegradeLevel.NORMAL, DegradeLevel.WARNING): "increase_chunk_size",
    (DegradeLevel.WARNING, DegradeLevel.DEGRADE): "reduce_quality",
    (DegradeLevel.DEGRADE, DegradeLevel.EMERGENCY): "drop_chunks",
}


@dataclass(frozen=True, slots=True)
class LadderMove:
    old: DegradeLevel
    new: DegradeLevel
    action: str  # "none" for recoveries and for jumps the real server has no action for


def target_level(rtf: float) -> DegradeLevel:
    if rtf >= EMERGENCY_RTF:
        return DegradeLevel.EMERGENCY
    if rtf >= DEGRADE_RTF:
        return DegradeLevel.DEGRADE
    if rtf >= WARNING_RTF:
        return DegradeLevel.WARNING
    return DegradeLevel.NORMAL


def action_for(old: DegradeLevel, new: DegradeLevel) -> str:
    if new is DegradeLevel.FAILOVER:
        return "failover"
    return _ACTIONS.get((old, new), "none")


class DegradeLadder:
    """Levels from real-time-factor samples (see the module docstring)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.level = DegradeLevel.NORMAL
        self.level_since = clock()
        self._history: list[tuple[float, float]] = []  # (time, rtf), the last HISTORY_SECONDS

    def check(self, rtf: float) -> LadderMove | None:
        """Record one sample; return the move it causes, if any."""
        now = self._clock()
        self._history = [(t, r) for t, r in self._history if t > now - HISTORY_SECONDS]
        self._history.append((now, rtf))
        target = target_level(rtf)
        if target > self.level:
            if now - self.level_since < MIN_LEVEL_SECONDS:
                return None
            return self._move(target, action_for(self.level, target))
        recent = self._mean_since(now - RECOVERY_WINDOW_SECONDS)
        if target < self.level:
            return self._move(target, "none") if recent < RECOVERY_RTF else None
        if self.level > DegradeLevel.NORMAL and recent < RECOVERY_STEP_RTF:
            return self._move(DegradeLevel(self.level - 1), "none")
        return None

    def rtf_avg(self, seconds: float = 10.0) -> float:
        """Mean of the samples of the last ``seconds``; 0.0 when there are none."""
        now = self._clock()
        recent = [r for t, r in self._history if now - t < seconds]
        return sum(recent) / len(recent) if recent else 0.0

    def _mean_since(self, since: float) -> float:
        recent = [r for t, r in self._history if t > since]
        return sum(recent) / len(recent) if recent else RECOVERY_RTF  # no samples: no recovery

    def _move(self, new: DegradeLevel, action: str) -> LadderMove:
        move = LadderMove(self.level, new, action)
        self.level, self.level_since = new, self._clock()
        return move
