"""Configuration of the reference backend, and the overload schedule.

``BackendConfig`` is a frozen value: the CLI builds one from its arguments, tests and the desktop app
build one directly. Invalid values raise ``app.errors.ConfigError`` with a what-to-do message.

``fidelity`` chooses between the real EchoPanel server's behaviour (``"faithful"``, the default: chunked
consumption, the degrade ladder, the real warning timing; CONTRACT.md sections 9-10) and the earlier
idealised backend (``"ideal"``: the recognizer pulls 100 ms at a time, no ladder), which exists only
for tests that need it and say why.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import ConfigError

RECOGNIZERS = ("pocketsphinx", "simulated")
FIDELITIES = ("faithful", "ideal")
# How the simulated recognizer reports a chunk: "regions", one final per speech region, none for
# silence (as the real server's Whisper providers: empty texts are skipped); "chunks", one final per
# chunk covering all of it, silence too (as the stub recognizer the real server was measured with).
FINALS = ("regions", "chunks")
WS_PATH = "/ws/live-listener"
HEALTH_PATH = "/health"

Schedule = tuple[tuple[float, float], ...]
"""``((at_seconds, rtf), ...)`` sorted by time: from ``at_seconds`` into a session the RTF is ``rtf``."""
SourceRtf = tuple[tuple[str, float], ...]
"""``(("mic", 0.3), ...)``: a source's own RTF, instead of ``rtf``."""


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """Everything the reference backend can be told.

    ``rtf`` is the simulated recognizer's real-time factor (seconds of work per second of audio);
    ``source_rtf`` replaces it for named sources; ``schedule`` overrides both from given seconds into
    each session (for pocketsphinx these are floors: artificial delay is added until the recognizer
    runs at least that slowly; its own speed counts otherwise). The RTF in force when a chunk starts
    applies to the whole chunk. ``chunk_seconds`` is how much audio the recognizer takes at a time
    (faithful mode); ``shared_recognizer`` makes one recognizer serve both sources of a session, one
    chunk at a time, in the order the chunks became ready. ``schedule_epoch`` (wall-clock seconds since
    the Unix epoch) makes the schedule's seconds count from that instant instead of from each
    session's start, so a backend restarted in the middle of an episode continues it.
    ``start_timeout`` closes connections that never send ``start``. The interval fields exist so
    tests need not wait for the production cadence.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    token: str = field(default="", repr=False)  # never in a repr that might be logged
    recognizer: str = "pocketsphinx"
    fidelity: str = "faithful"
    rtf: float = 0.3
    source_rtf: SourceRtf = ()
    schedule: Schedule = ()
    schedule_epoch: float | None = None
    chunk_seconds: float = 2.0
    shared_recognizer: bool = False
    queue_seconds: float = 2.0
    max_sessions: int = 10
    record_dir: Path | None = None
    capacity_wait_seconds: float = 5.0
    model_wait_seconds: float = 60.0
    load_seconds: float = 0.0  # simulated recognizer only: pretend the model takes this long to load
    finals: str = "regions"  # simulated recognizer only: see FINALS
    metrics_interval: float = 1.0
    entities_interval: float = 12.0
    cards_interval: float = 40.0
    flush_timeout: float = 8.0
    start_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.recognizer not in RECOGNIZERS:
            raise ConfigError(
                f"Unknown recognizer {self.recognizer!r}: choose one of {', '.join(RECOGNIZERS)}."
            )
        if self.finals not in FINALS:
            raise ConfigError(f"Unknown finals {self.finals!r}: choose one of {', '.join(FINALS)}.")
        if self.fidelity not in FIDELITIES:
            raise ConfigError(
                f"Unknown fidelity {self.fidelity!r}: choose one of {', '.join(FIDELITIES)}."
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"Port {self.port} is out of range: use 0-65535 (0 picks a free port).")
        if not (math.isfinite(self.rtf) and self.rtf >= 0):
            raise ConfigError(f"RTF {self.rtf} is invalid: use a number >= 0, e.g. 0.3.")
        for source, rtf in self.source_rtf:
            if not (source and math.isfinite(rtf) and rtf >= 0):
                raise ConfigError(f"RTF {rtf} for source {source!r} is invalid: use a number >= 0.")
        if self.schedule_epoch is not None and not math.isfinite(self.schedule_epoch):
            raise ConfigError(f"Schedule epoch {self.schedule_epoch} is invalid: use seconds since the "
                              "Unix epoch.")
        if not (math.isfinite(self.chunk_seconds) and 0.1 <= self.chunk_seconds <= 30):
            raise ConfigError(f"Chunk of {self.chunk_seconds} s is invalid: use 0.1-30 seconds (2 is "
                              "the real server's default).")
        if not (math.isfinite(self.queue_seconds) and 0.1 <= self.queue_seconds <= 60):
            raise ConfigError(f"Queue of {self.queue_seconds} s is invalid: use 0.1-60 seconds.")
        if self.max_sessions < 1:
            raise ConfigError(f"max_sessions {self.max_sessions} is invalid: use 1 or more.")
        positive = ("capacity_wait_seconds", "model_wait_seconds", "metrics_interval",
                    "entities_interval", "cards_interval", "flush_timeout", "start_timeout")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be greater than 0.")

    @property
    def queue_bytes_max(self) -> int:
        """Per-source queue cap: ``queue_seconds`` of 16 kHz int16 mono (64 000 bytes by default)."""
        return round(self.queue_seconds * 32_000) // 2 * 2

    @property
    def faithful(self) -> bool:
        return self.fidelity == "faithful"

    def schedule_seconds(self, since_session_start: float) -> float:
        """How far into the schedule a session is: since its start, or since ``schedule_epoch``."""
        return since_session_start if self.schedule_epoch is None else time.time() - self.schedule_epoch

    def min_rtf_at(self, session_seconds: float, source: str = "") -> float:
        """The RTF ``source``'s recognizer must run at, at least, this far into a session."""
        base = self.rtf if self.recognizer == "simulated" else 0.0
        base = dict(self.source_rtf).get(source, base)
        return rtf_at(base, self.schedule, session_seconds)


def rtf_at(base: float, schedule: Schedule, seconds: float) -> float:
    """The RTF in force ``seconds`` into a session: the last schedule entry already reached, else ``base``."""
    current = base
    for at, rtf in schedule:
        if seconds < at:
            break
        current = rtf
    return current


def parse_schedule(text: str) -> Schedule:
    """Parse ``"RTF@SECONDS,..."`` (e.g. ``"1.6@30,0.5@75"``) into ``((30.0, 1.6), (75.0, 0.5))``.

    Entries are sorted by time. Raises ``ConfigError`` naming the bad entry.
    """
    entries: list[tuple[float, float]] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        rtf_text, sep, at_text = item.partition("@")
        try:
            rtf, at = float(rtf_text), float(at_text)
        except ValueError:
            rtf = at = math.nan
        if not sep or not (math.isfinite(rtf) and math.isfinite(at)) or rtf < 0 or at < 0:
            raise ConfigError(
                f"Bad schedule entry {item!r}: write RTF@SECONDS, e.g. 1.6@30,0.5@75 "
                "(RTF 1.6 from 30 s into the session, 0.5 from 75 s)."
            )
        entries.append((at, rtf))
    return tuple(sorted(entries))


def parse_source_rtf(items: list[str]) -> SourceRtf:
    """Parse ``["mic=0.3", ...]`` into ``(("mic", 0.3), ...)``. Raises ``ConfigError`` naming the bad one."""
    out: list[tuple[str, float]] = []
    for item in items:
        source, sep, rtf_text = item.partition("=")
        try:
            rtf = float(rtf_text)
        except ValueError:
            rtf = math.nan
        if not sep or not source.strip() or not math.isfinite(rtf) or rtf < 0:
            raise ConfigError(f"Bad source RTF {item!r}: write SOURCE=RTF, e.g. mic=0.3.")
        out.append((source.strip().lower(), rtf))
    return tuple(out)
