"""The states the self-test renders (``app.ui.self_test``): idle, not measured yet, live, behind,
losing and failed, each made by the real models (``StatusModel`` for the light, ``BackpressureModel``
for the server's level) from synthetic inputs, one simulated second at a time on a stepped clock, and
the snapshot a session would publish for it. Pure: no Qt.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from app.core.backpressure import BackpressureModel
from app.core.losses import LossCause, LossSpan
from app.core.messages import MetricsEvent, Source, StatusEvent
from app.core.session_state import ConnectionState, SessionSnapshot, SourceCounters, TranscriptSegment
from app.core.status import StatusInputs, StatusModel
from app.core.status_report import Light, StatusReport

SECONDS_PER_STEP = 8  # simulated seconds per state: enough chart history to draw a line
FAILURE = "The backend refused the access token (HTTP 401). Check the token in Settings."


@dataclass(frozen=True, slots=True)
class Step:
    """One state: what the pipeline shows every second while it lasts."""

    name: str
    expected: Light
    state: ConnectionState
    metrics: tuple[MetricsEvent, ...] = ()
    status: StatusEvent | None = None
    held: float = 0.0  # seconds of audio the client holds at the start of the step...
    held_growth: float = 0.0  # ...growing by this much every second
    losing: bool = False  # the server drops audio all through the step
    mic_silent: bool = False
    seconds: int = SECONDS_PER_STEP
    error: str | None = None


class SteppedClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def metrics(source: Source, fill: float, dropped_total: int = 0, dropped_recent: int = 0) -> MetricsEvent:
    return MetricsEvent(
        source=source.value, queue_fill_ratio=fill, queue_bytes=int(fill * 64000), queue_bytes_max=64000,
        backlog_seconds=round(fill * 2.0, 2), max_backlog_seconds=2.0, dropped_total=dropped_total,
        dropped_recent=dropped_recent, realtime_factor=0.4, sources_active=2,
    )


STEPS = (
    Step("idle", Light.IDLE, ConnectionState.IDLE),
    Step("not-measured", Light.UNKNOWN, ConnectionState.STREAMING, seconds=2),
    Step("live", Light.LIVE, ConnectionState.STREAMING,
         (metrics(Source.SYSTEM, 0.30), metrics(Source.MIC, 0.20)),
         StatusEvent("streaming", "Streaming")),
    Step("behind", Light.BEHIND, ConnectionState.STREAMING,
         (metrics(Source.SYSTEM, 0.45), metrics(Source.MIC, 0.30)),
         StatusEvent("streaming", "Streaming"), held=4.0, held_growth=0.5, mic_silent=True, seconds=32),
    Step("losing", Light.LOSING, ConnectionState.STREAMING,
         (metrics(Source.SYSTEM, 0.97, 60, 60), metrics(Source.MIC, 0.30)),
         StatusEvent("overloaded", "Server overloaded: system queue 97% full, 1.9s behind", "system",
                     backlog_seconds=1.95), losing=True),
    Step("failed", Light.FAILED, ConnectionState.FAILED, error=FAILURE),
)


class Scenario:
    """Runs the steps in order on ``clock``; ``seconds(step)`` yields one snapshot per simulated second."""

    def __init__(self, clock: SteppedClock) -> None:
        self.clock = clock
        self.elapsed = 0.0
        self.losses: list[LossSpan] = []
        self.server = BackpressureModel(clock)
        self.status = StatusModel(clock)

    def seconds(self, index: int, step: Step) -> Iterator[SessionSnapshot]:
        if step.state is ConnectionState.IDLE:
            yield SessionSnapshot()
            return
        self.server.on_connection(step.state)
        held = step.held
        for _ in range(step.seconds):
            self.clock.now += 1.0
            self.elapsed += 1.0
            for event in step.metrics:
                self.server.on_metrics(event)
            if step.status is not None:
                self.server.on_status(step.status)
            if step.losing:
                self._lose(1.0)
            held += step.held_growth if step.held else 0.0
            yield self._snapshot(index, step, held)

    def _lose(self, seconds: float) -> None:
        last = self.losses[-1] if self.losses else None
        if last is not None and abs(last.end - (self.elapsed - seconds)) < 0.3:
            self.losses[-1] = LossSpan(last.source, last.start, self.elapsed, last.cause)
        else:
            start = self.elapsed - seconds
            self.losses.append(LossSpan("system", start, self.elapsed, LossCause.SERVER_DROP))
        lost = sum(span.seconds for span in self.losses)
        self.server.attribute("system", round(lost / 0.02))  # the same drops in the diagnostics numbers

    def _snapshot(self, index: int, step: Step, held: float) -> SessionSnapshot:
        report = self.server.report()
        levels = {"system": -24.0, "mic": -80.0 if step.mic_silent else -31.0}
        inputs = StatusInputs(step.state, report, {"system": held, "mic": 0.0},
                              {"system": held / 30.0, "mic": 0.0}, tuple(self.losses), self.elapsed,
                              step.error, levels if step.state is ConnectionState.STREAMING else None)
        status: StatusReport = self.status.update(inputs)
        counters = SourceCounters(captured_frames=500 * index, sent_frames=500 * index)
        return SessionSnapshot(
            state=step.state, session_id="self-test-session", elapsed_seconds=self.elapsed, level=report,
            last_status=step.status, sources={Source.SYSTEM: counters, Source.MIC: counters},
            transcript=transcript(index), transcript_revision=index, losses=tuple(self.losses), status=status,
            input_dbfs=levels if step.state is ConnectionState.STREAMING else {}, error=step.error,
            detail=step.error or "",
        )


LINES = (
    ("mic", "Good morning, let's start with the budget review.", 1.0),
    ("system", "Morning! The numbers for the third quarter are in the shared folder.", 3.5),
    ("mic", "Great, Ana will send the summary by Friday.", 12.0),
    ("system", "The vendor contract renews in March, so we should decide by February.", 30.0),
    ("mic", "Then let's put it on next week's agenda.", 60.0),
)


def transcript(index: int) -> tuple[TranscriptSegment, ...]:
    finals = tuple(TranscriptSegment(src, text, t0, t0 + 2.0, True) for src, text, t0 in LINES[: index + 1])
    return (*finals, TranscriptSegment("system", "and the risk is that the vendor", 61.5, 62.5, False))
