"""``python -m app --self-test [--screenshot PREFIX]``: build the real main window (offscreen when
there is no display), drive it through every state of the status light (idle, not measured yet,
live, behind, losing, failed; ``app.ui.self_test_states``) in a light and a dark palette, and check
that each rendered: the lamp, its lines and the window title agree with the snapshot's one status.

The snapshots reach the window through the real controller and binding, so this exercises the same
path as a live session minus the network. With ``--screenshot``, each state is saved at 1x and 2x
in both palettes: ``PREFIX-<state>.png`` (light, 1x), ``PREFIX-<state>-2x.png``,
``PREFIX-<state>-dark.png`` and ``PREFIX-<state>-dark-2x.png``; behind and losing also with the
diagnostics panel open (``PREFIX-<state>-diagnostics[-dark][-2x].png``). One line per state and palette on
stdout; exit 0 when all pass, 1 with the reason otherwise. The packaging smoke test runs this
against the frozen binary.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.core.session_state import ConnectionState
from app.core.status_report import Light
from app.ui import qt_messages
from app.ui.binding import bind
from app.ui.controller import SessionController
from app.ui.lamp import TrafficLight
from app.ui.level_style import LAMP_COLOURS, Lamp, light_style
from app.ui.self_test_states import STEPS, Scenario, Step, SteppedClock
from app.ui.status_view import StatusView
from app.ui.window import MainWindow

WINDOW_SIZE = (1100, 760)
THEMES = ("light", "dark")
DIAGNOSTICS_SHOWN = ("behind", "losing")  # also saved with the diagnostics panel open
DARK = {
    QPalette.ColorRole.Window: "#2b2b2b", QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#1f1f1f", QPalette.ColorRole.AlternateBase: "#2a2a2a",
    QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#353535",
    QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.Highlight: "#3d7bd9",
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#353535",
    QPalette.ColorRole.ToolTipText: "#e6e6e6", QPalette.ColorRole.PlaceholderText: "#9a9a9a",
    QPalette.ColorRole.Link: "#7fb0ff", QPalette.ColorRole.Mid: "#5a5a5a",
    QPalette.ColorRole.Light: "#505050", QPalette.ColorRole.Dark: "#1a1a1a",
    QPalette.ColorRole.Midlight: "#404040", QPalette.ColorRole.Shadow: "#101010",
}


def dark_palette() -> QPalette:
    """A dark desktop theme, as a user's platform theme would give it."""
    palette = QPalette()
    for role, colour in DARK.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return palette


def grab_at(widget: QWidget, scale: float) -> QImage:
    """``widget`` rendered at ``scale`` device pixels per pixel (2 = a 2x screen)."""
    if scale == widget.devicePixelRatioF():
        return widget.grab().toImage()
    size = QSize(round(widget.width() * scale), round(widget.height() * scale))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(scale)
    image.fill(widget.palette().color(QPalette.ColorRole.Window))
    widget.render(image)
    return image


def check_render(window: MainWindow, step: Step, image: QImage) -> str:
    """"" if the window shows ``step``'s state consistently, else why not."""
    if image.isNull() or image.width() < 200 or image.height() < 200:
        return f"empty screenshot ({image.width()}x{image.height()})"
    colours = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 23)}
    if len(colours) < 8:
        return f"blank screenshot ({len(colours)} distinct colours)"
    view = window.status()
    lamp = window.lamp
    if view is None or lamp.light() is not step.expected or view.light is not step.expected:
        return f"lamp shows {lamp.label_text()!r}, expected {light_style(step.expected).label!r}"
    return (lines_problem(window, view) or controls_problem(window, step)
            or lamp_colour_problem(lamp, step.expected))


def lines_problem(window: MainWindow, view: StatusView) -> str:
    """"" if the lamp, its lines and the title all say the one status."""
    lamp = window.lamp
    if lamp.label_text() != view.label or view.label not in window.windowTitle():
        return f"lamp {lamp.label_text()!r} / title {window.windowTitle()!r} disagree with {view.label!r}"
    if window.headline_label.text() != view.headline or view.headline not in lamp.accessibleDescription():
        return f"headline {window.headline_label.text()!r} is not the light's reason {view.headline!r}"
    if not view.headline:
        return "the light has no reason"
    if view.light is Light.FAILED and view.headline == "Failed":
        return "a failed session does not say why"
    return ""


def controls_problem(window: MainWindow, step: Step) -> str:
    """ "" if the controls match the state: Stop and locked source pickers while streaming."""
    running = step.state is ConnectionState.STREAMING
    button = window.start_button.text()
    if button != ("Stop" if running else "Start"):
        return f"the start/stop button says {button!r} while {step.state.value}"
    if window.source_picker.isEnabled() == running:
        return f"the source pickers are {'enabled' if running else 'disabled'} while {step.state.value}"
    if not running and any(panel.view() is not None and panel.view().fill_ratio is not None  # type: ignore[union-attr]
                           for panel in window.panels.values()):
        return f"queue numbers still shown while {step.state.value}"
    return ""


def lamp_colour_problem(light: TrafficLight, expected: Light) -> str:
    """ "" if the rendered lamps match ``expected`` (lit lamp near its colour, the others dark)."""
    image = light.grab().toImage()
    ratio = image.width() / max(1, light.width())  # device pixel ratio of the grab
    style = light_style(expected)
    for lamp in Lamp:
        rect = light.lamp_rect(lamp)
        # Sample beside the glyph, which covers the middle of the lamp.
        x, y = int((rect.left() + rect.width() * 0.12) * ratio), int(rect.center().y() * ratio)
        colour = QColor(image.pixel(x, y))
        lit = style.lamp is lamp
        if lit and _distance(colour, LAMP_COLOURS[lamp]) > 120:
            want = LAMP_COLOURS[lamp].name()
            return f"the {lamp.name.lower()} lamp is {colour.name()}, expected near {want}"
        if not lit and colour.value() > 160:
            return f"the {lamp.name.lower()} lamp looks lit ({colour.name()}) for {expected.value}"
    return ""


def _distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def _save(image: QImage, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    return "" if image.save(str(path)) else f"could not write {path}"


def run_theme(app: QApplication, theme: str, prefix: str | None, out: Callable[[str], None]) -> int:
    app.setPalette(dark_palette() if theme == "dark" else app.style().standardPalette())
    window = MainWindow()
    clock = SteppedClock()
    controller = SessionController(None, clock=clock, parent=window)
    bind(window, controller)
    window.resize(*WINDOW_SIZE)
    window.show()
    scenario = Scenario(clock)
    failures = 0
    suffix = "" if theme == "light" else f"-{theme}"
    for index, step in enumerate(STEPS):
        for snap in scenario.seconds(index, step):  # one snapshot per simulated second, as a live session
            controller.apply_snapshot(snap)
        app.processEvents()
        image = grab_at(window, 1.0)
        problem = check_render(window, step, image)
        saved = ""
        if prefix:
            double = grab_at(window, 2.0)
            for path, shot in ((Path(f"{prefix}-{step.name}{suffix}.png"), image),
                               (Path(f"{prefix}-{step.name}{suffix}-2x.png"), double)):
                problem = problem or _save(shot, path)
            saved = f" screenshot={prefix}-{step.name}{suffix}.png"
            if step.name in DIAGNOSTICS_SHOWN:  # the numbers too: queues, drops, the chart
                window.diagnostics.set_expanded(True)
                window.fit_status_area()
                app.processEvents()
                for scale, tail in ((1.0, ""), (2.0, "-2x")):
                    path = Path(f"{prefix}-{step.name}-diagnostics{suffix}{tail}.png")
                    problem = problem or _save(grab_at(window, scale), path)
                window.diagnostics.set_expanded(False)
                window.fit_status_area()
        view = window.status()
        if problem:
            failures += 1
            out(f"self-test {step.name}{suffix}: FAIL {problem}")
        else:
            out(f"self-test {step.name}{suffix}: OK lamp={window.lamp.label_text()!r} "
                f"reason={view.headline if view else ''!r}{saved}")
    window.hide()
    window.deleteLater()
    app.processEvents()
    return failures


def run_self_test(screenshot_prefix: str | None, out: Callable[[str], None] = print) -> int:
    qt_messages.install()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    failures = sum(run_theme(app, theme, screenshot_prefix, out) for theme in THEMES)
    app.setPalette(app.style().standardPalette())
    out("self-test: " + ("all states rendered" if not failures else f"{failures} state(s) failed"))
    return 0 if failures == 0 else 1
