"""The traffic light: each level lights the right lamp, with its own label, glyph shape and
accessible name/description, so colour is never the only cue."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from app.core.level import Level
from app.ui.lamp import TrafficLight
from app.ui.level_style import Glyph, Lamp, level_pixmap

EXPECTED = {
    Level.NORMAL: (Lamp.GREEN, "Normal", Glyph.CHECK_CIRCLE),
    Level.BUFFERING: (Lamp.AMBER, "Buffering", Glyph.TRIANGLE),
    Level.OVERLOADED: (Lamp.RED, "Overloaded", Glyph.OCTAGON),
    Level.UNKNOWN: (None, "Unknown", Glyph.QUESTION),
    Level.IDLE: (None, "Idle", Glyph.DASH),
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
    lamp.set_level(level, reason)
    lit, label, glyph = EXPECTED[level]
    assert lamp.level() is level
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
    for level in (Level.NORMAL, Level.BUFFERING, Level.OVERLOADED):
        image = level_pixmap(level, 48).toImage()
        masks[level] = tuple(p >> 24 > 128 for p in _pixels(image))
    assert len(set(masks.values())) == 3


def test_lit_lamp_is_painted_in_its_colour(lamp):
    lamp.set_level(Level.OVERLOADED, "x")
    image = lamp.grab().toImage()
    red_top = image.pixelColor(image.width() // 2, int(image.height() * 0.12))
    lamp.set_level(Level.NORMAL, "y")
    image = lamp.grab().toImage()
    dark_top = image.pixelColor(image.width() // 2, int(image.height() * 0.12))
    assert red_top.red() > 150 and red_top.green() < 120
    assert dark_top.red() < 100


def test_paint_probe_reports_each_paint_after_a_level_change(lamp, qtbot):
    paints: list[float] = []
    lamp.set_paint_probe(paints.append)
    lamp.set_level(Level.BUFFERING, "filling")
    qtbot.waitUntil(lambda: len(paints) >= 1)
    count = len(paints)
    lamp.repaint()
    assert len(paints) == count + 1
    assert paints[-1] >= paints[0]
