"""``python -m app --self-test [--screenshot PREFIX]``: build the real main window (offscreen when
there is no display), drive it through idle, normal, buffering, overloaded and unknown, and check
that each state rendered.

The states come from the real ``BackpressureModel`` fed synthetic status/metrics events once a
second on a stepped clock (the controller shares that clock, as it shares ``time.monotonic`` with a
live session), and reach the window through the real controller and binding, so this exercises the
same path as a live session minus the network. One line per state on stdout; exit 0 when all pass,
1 with the reason otherwise. The packaging smoke test runs this against the frozen binary.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from app.core.backpressure import BackpressureModel
from app.core.level import Level, LevelReport
from app.core.messages import MetricsEvent, Source, StatusEvent
from app.core.session_state import ConnectionState, SessionSnapshot, SourceCounters, TranscriptSegment
from app.ui import qt_messages
from app.ui.binding import bind
from app.ui.controller import SessionController
from app.ui.lamp import TrafficLight
from app.ui.level_style import LAMP_COLOURS, Lamp, style_for
from app.ui.window import MainWindow

WINDOW_SIZE = (1100, 760)
SECONDS_PER_STEP = 8  # simulated seconds per state: enough chart history to draw a line


@dataclass(frozen=True, slots=True)
class Step:
    """One state: what the server sends every second while it lasts (nothing: metrics stop)."""

    name: str
    expected: Level
    state: ConnectionState
    metrics: tuple[MetricsEvent, ...] = ()
    status: StatusEvent | None = None


class SteppedClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _metrics(source: Source, fill: float, dropped_total: int = 0, dropped_recent: int = 0) -> MetricsEvent:
    return MetricsEvent(
        source=source.value,
        queue_fill_ratio=fill,
        queue_bytes=int(fill * 64000),
        queue_bytes_max=64000,
        backlog_seconds=round(fill * 2.0, 2),
        max_backlog_seconds=2.0,
        dropped_total=dropped_total,
        dropped_recent=dropped_recent,
        realtime_factor=0.4,
        sources_active=2,
    )


STEPS = (
    Step("idle", Level.IDLE, ConnectionState.IDLE),
    Step(
        "normal",
        Level.NORMAL,
        ConnectionState.STREAMING,
        (_metrics(Source.SYSTEM, 0.30), _metrics(Source.MIC, 0.20)),
        StatusEvent("streaming", "Streaming"),
    ),
    Step(
        "buffering",
        Level.BUFFERING,
        ConnectionState.STREAMING,
        (_metrics(Source.SYSTEM, 0.90), _metrics(Source.MIC, 0.25)),
        StatusEvent(
            "buffering", "Buffering system audio: queue 90% full, 1.8s behind", "system", backlog_seconds=1.8
        ),
    ),
    Step(
        "overloaded",
        Level.OVERLOADED,
        ConnectionState.STREAMING,
        (_metrics(Source.SYSTEM, 0.97, 60, 60), _metrics(Source.MIC, 0.30, 60)),
        StatusEvent(
            "overloaded",
            "Server overloaded: system queue 97% full, 1.9s behind",
            "system",
            backlog_seconds=1.95,
        ),
    ),
    Step("unknown", Level.UNKNOWN, ConnectionState.STREAMING),  # the server goes silent
)


Second = tuple[LevelReport, StatusEvent | None]


def level_steps(
    clock: SteppedClock, seconds: int = SECONDS_PER_STEP
) -> Iterator[tuple[Step, Iterator[Second]]]:
    """Each step with its simulated seconds: each advances ``clock`` by 1 s, feeds the step's events to
    the real model and gives its report (and the server's last status). Consume a step's seconds
    before asking for the next step."""
    model = BackpressureModel(clock)
    last: list[StatusEvent | None] = [None]

    def run(step: Step) -> Iterator[Second]:
        if step.state is not ConnectionState.IDLE:
            model.on_connection(step.state)
        for _ in range(seconds):
            clock.now += 1.0
            for event in step.metrics:
                model.on_metrics(event)
            if step.status is not None:
                model.on_status(step.status)
                last[0] = step.status
            yield model.report(), last[0]

    for step in STEPS:
        yield step, run(step)


def snapshot_for(step: Step, index: int, report: LevelReport, status: StatusEvent | None) -> SessionSnapshot:
    if step.state is ConnectionState.IDLE:
        return SessionSnapshot()
    finals = tuple(
        TranscriptSegment(src, text, t0, t0 + 2.0, True)
        for src, text, t0 in (
            ("mic", "Good morning, let's start with the budget review.", 1.0),
            ("system", "Morning! The numbers for the third quarter are in the shared folder.", 3.5),
            ("mic", "Great, Ana will send the summary by Friday.", 7.0),
        )[: index + 1]
    )
    transcript = (*finals, TranscriptSegment("system", "and the risk is that the vendor", 9.5, 10.5, False))
    counters = SourceCounters(captured_frames=500 * index, sent_frames=500 * index)
    return SessionSnapshot(
        state=step.state,
        session_id="self-test-session",
        elapsed_seconds=12.0 * index,
        level=report,
        last_status=status,
        sources={Source.SYSTEM: counters, Source.MIC: counters},
        transcript=transcript,
        transcript_revision=index,
    )


def check_render(window: MainWindow, step: Step, report: LevelReport) -> tuple[QImage, str]:
    """Grab the window; return the image and "" or the reason it is wrong."""
    image = window.grab().toImage()
    if image.isNull() or image.width() < 200 or image.height() < 200:
        return image, f"empty screenshot ({image.width()}x{image.height()})"
    colours = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 23)}
    if len(colours) < 8:
        return image, f"blank screenshot ({len(colours)} distinct colours)"
    lamp = window.lamp
    style = style_for(step.expected)
    if lamp.level() is not step.expected or lamp.label_text() != style.label:
        return image, f"lamp shows {lamp.label_text()!r}, expected {style.label!r}"
    if report.reason not in lamp.accessibleDescription():
        return image, f"accessible description {lamp.accessibleDescription()!r} lacks the reason"
    return image, controls_problem(window, step) or lamp_colour_problem(lamp, step.expected)


def controls_problem(window: MainWindow, step: Step) -> str:
    """ "" if the controls match the state: Stop and locked source pickers while streaming."""
    running = step.state is not ConnectionState.IDLE
    button = window.start_button.text()
    if button != ("Stop" if running else "Start"):
        return f"the start/stop button says {button!r} while {step.state.value}"
    if window.source_picker.isEnabled() == running:
        return f"the source pickers are {'enabled' if running else 'disabled'} while {step.state.value}"
    stale = step.expected is Level.UNKNOWN
    if any(panel.is_stale() != stale for panel in window.panels.values() if panel.view() is not None):
        return f"the source panels {'do not ' if stale else ''}show stale numbers in {step.name}"
    return ""


def lamp_colour_problem(light: TrafficLight, level: Level) -> str:
    """ "" if the rendered lamps match ``level`` (lit lamp near its colour, the others dark)."""
    image = light.grab().toImage()
    ratio = image.width() / max(1, light.width())  # device pixel ratio of the grab
    style = style_for(level)
    for lamp in Lamp:
        rect = light.lamp_rect(lamp)
        # Sample beside the glyph, which covers the middle of the lamp.
        x, y = int((rect.left() + rect.width() * 0.12) * ratio), int(rect.center().y() * ratio)
        colour = QColor(image.pixel(x, y))
        lit = style.lamp is lamp
        if lit and _distance(colour, LAMP_COLOURS[lamp]) > 120:
            return (
                f"the {lamp.name.lower()} lamp is {colour.name()}, expected near {LAMP_COLOURS[lamp].name()}"
            )
        if not lit and colour.value() > 160:
            return f"the {lamp.name.lower()} lamp looks lit ({colour.name()}) for {level.value}"
    return ""


def _distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def run_self_test(screenshot_prefix: str | None, out: Callable[[str], None] = print) -> int:
    qt_messages.install()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow()
    clock = SteppedClock()
    controller = SessionController(None, clock=clock, parent=window)
    bind(window, controller)
    window.resize(*WINDOW_SIZE)
    window.show()
    failures = 0
    for index, (step, seconds) in enumerate(level_steps(clock)):
        report = LevelReport(Level.IDLE, "")
        for report, status in seconds:  # one snapshot per simulated second, as a live session polls
            controller.apply_snapshot(snapshot_for(step, index, report, status))
        if report.level is not step.expected:
            out(f"self-test {step.name}: FAIL the model reported {report.level.value}: {report.reason}")
            failures += 1
            continue
        app.processEvents()
        image, problem = check_render(window, step, report)
        saved = ""
        if screenshot_prefix:
            path = Path(f"{screenshot_prefix}-{step.name}.png")
            path.parent.mkdir(parents=True, exist_ok=True)
            if not image.save(str(path)):
                problem = problem or f"could not write {path}"
            saved = f" screenshot={path}"
        if problem:
            failures += 1
            out(f"self-test {step.name}: FAIL {problem}")
        else:
            label = window.lamp.label_text()
            out(f"self-test {step.name}: OK lamp={label!r} reason={report.reason!r}{saved}")
    window.hide()
    window.deleteLater()
    app.processEvents()
    out("self-test: " + ("all states rendered" if not failures else f"{failures} state(s) failed"))
    return 0 if failures == 0 else 1
