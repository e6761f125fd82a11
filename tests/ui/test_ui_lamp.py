"""The traffic light: each status light lights the right lamp (or none), with its own label, glyph
shape and accessible name/description, so colour is never the only cue; it scales with the window."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from app.core.status_report import Light
from app.ui.lamp import TrafficLight
from app.ui.level_style import FAILED_COLOUR, Glyph, Lamp, level_pixmap
from app.ui.window import MainWindow

Level = Light  # the lamp shows the status light (the server's own level is a small badge beside it)
EXPECTED = {
    Light.LIVE: (Lamp.GREEN, "Live", Glyph.CHECK_CIRCLE),
    Light.BEHIND: (Lamp.AMBER, "Behind", Glyph.TRIANGLE),
    Light.LOSING: (Lamp.RED, "Losing audio", Glyph.OCTAGON),
    Light.UNKNOWN: (None, "Not measured", Glyph.QUESTION),
    Light.IDLE: (None, "Not streaming", Glyph.DASH),
    Light.FAILED: (None, "Failed", Glyph.EXCLAIM),
}


@pytest.fixture
def lamp(qtbot):
    widget = TrafficLight()
    qtbot.addWidget(widget)
    widget.resize(160, 400)
    widget.show()
    return widget


@pytest.mark.parametrize("level", list(Level))
def test_each_level_sets_lamp_label_glyph_and_accessibility(lamp, level):
    reason = f"reason for {level.value}"
    lamp.set_light(level, reason)
    lit, label, glyph = EXPECTED[level]
    assert lamp.light() is level
    assert lamp.lit_lamp() is lit
    assert lamp.label_text() == label
    assert lamp.glyph() is glyph
    assert label.lower() in lamp.accessibleName().lower()
    assert reason in lamp.accessibleDescription()
    assert label in lamp.accessibleDescription()


def test_every_level_has_a_distinct_shape_and_label():
    glyphs = {EXPECTED[level][2] for level in Level}
    labels = {EXPECTED[level][1] for level in Level}
    assert len(glyphs) == len(Level)
    assert len(labels) == len(Level)


def _pixels(image: QImage) -> list[int]:
    return [image.pixel(x, y) for y in range(image.height()) for x in range(image.width())]


def test_level_icons_differ_in_shape_not_only_colour(qapp):
    # Compare alpha masks (the silhouette): identical colours would still give different shapes.
    masks = {}
    for level in (Light.LIVE, Light.BEHIND, Light.LOSING):
        image = level_pixmap(level, 48).toImage()
        masks[level] = tuple(p >> 24 > 128 for p in _pixels(image))
    assert len(set(masks.values())) == 3


def test_lit_lamp_is_painted_in_its_colour(lamp):
    lamp.set_light(Light.LOSING, "x")
    image = lamp.grab().toImage()
    red_top = image.pixelColor(image.width() // 2, int(image.height() * 0.12))
    lamp.set_light(Light.LIVE, "y")
    image = lamp.grab().toImage()
    dark_top = image.pixelColor(image.width() // 2, int(image.height() * 0.12))
    assert red_top.red() > 150 and red_top.green() < 120
    assert dark_top.red() < 100


def test_paint_probe_reports_each_paint_after_a_level_change(lamp, qtbot):
    paints: list[float] = []
    lamp.set_paint_probe(paints.append)
    lamp.set_light(Light.BEHIND, "filling")
    qtbot.waitUntil(lambda: len(paints) >= 1)
    count = len(paints)
    lamp.repaint()
    assert len(paints) == count + 1
    assert paints[-1] >= paints[0]


def test_failed_is_not_idle(lamp):
    """A failed session never looks like one that never started: its own glyph, in its own colour."""
    images = {}
    for light in (Light.IDLE, Light.FAILED):
        lamp.set_light(light, "x")
        image = lamp.grab().toImage()
        rect = lamp.lamp_rect(Lamp.AMBER)
        ratio = image.width() / lamp.width()
        x = rect.center().x() - rect.width() * 0.2  # the glyph's fill, beside its mark
        y = rect.center().y() + rect.width() * 0.1
        images[light] = image.pixelColor(int(x * ratio), int(y * ratio))
    assert abs(images[Light.FAILED].hue() - FAILED_COLOUR.hue()) < 20, images[Light.FAILED].name()
    assert images[Light.IDLE].hue() == -1 or images[Light.IDLE].saturation() < 40  # grey


def test_the_lamp_scales_with_the_window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    small = window.lamp.height()
    window.resize(1400, 1100)
    qtbot.waitUntil(lambda: window.lamp.height() > small)
    assert window.lamp.width() >= window.lamp.fontMetrics().horizontalAdvance("Losing audio")
