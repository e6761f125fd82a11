"""The fill chart's axis (0 and 1.0 labelled, threshold labels never overlapping at any size) and the
per-source fill bars coloured by zone, checked on the rendered pixels."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtGui import QColor, QPalette

from app.core.level import Level
from app.ui.chart import FillChart, spread
from app.ui.level_style import LAMP_COLOURS, Lamp
from app.ui.meters import SourcePanel, _contrast, ink_for
from app.ui.models import SourceView
from app.ui.present import fill_zone


def test_spread_keeps_order_gap_and_bounds():
    assert spread([10.0, 30.0, 60.0], 12.0, 0.0, 100.0) == [10.0, 30.0, 60.0]  # room: nothing moves
    assert spread([5.0, 8.0, 20.0], 12.0, 6.0, 100.0) == [6.0, 18.0, 30.0]
    squeezed = spread([95.0, 97.0, 99.0], 10.0, 0.0, 100.0)  # no room below: pushed up
    assert squeezed == [80.0, 90.0, 100.0]


@pytest.mark.parametrize("size", [(420, 190), (220, 110), (900, 160), (600, 400)])
def test_axis_has_0_and_1_and_threshold_labels_never_overlap(qtbot, size):
    chart = FillChart()
    qtbot.addWidget(chart)
    chart.resize(*size)
    labels = chart.axis_labels()
    texts = [label.text for label in labels]
    assert {"0", "1.0", "0.70", "0.85", "0.95"} <= set(texts)
    for a, b in itertools.combinations(labels, 2):
        assert not a.rect.intersects(b.rect), f"{a.text} overlaps {b.text} at {size}"
    plot = chart.plot_rect()
    left = [label for label in labels if label.rect.right() <= plot.left()]
    right = [label for label in labels if label.rect.left() >= plot.right()]
    assert {label.text for label in left} == {"0", "0.5", "1.0"}
    assert {label.text for label in right} == {"0.70", "0.85", "0.95"}
    for label in labels:  # inside the widget, so nothing is cut off
        assert label.rect.top() >= 0 and label.rect.bottom() <= chart.height(), label.text


def test_chart_renders_with_history(qtbot):
    chart = FillChart()
    qtbot.addWidget(chart)
    chart.resize(500, 200)
    for t in range(100):
        chart.add_sample(float(t), {"system": 0.9, "mic": None})
    assert len(chart.series("system")) == 61  # the 60 s window
    image = chart.grab().toImage()
    assert not image.isNull()


def test_fill_zone_boundaries():
    assert [fill_zone(x) for x in (0.0, 0.84, 0.85, 0.94, 0.95, 1.0)] == [
        Level.NORMAL, Level.NORMAL, Level.BUFFERING, Level.BUFFERING, Level.OVERLOADED, Level.OVERLOADED
    ]


def chunk_colour(panel: SourcePanel) -> QColor:
    image = panel.fill_bar.grab().toImage()
    return QColor(image.pixel(4, image.height() // 2))  # the left end: always inside the chunk


@pytest.mark.parametrize(
    ("fill", "lamp"), [(0.30, Lamp.GREEN), (0.86, Lamp.AMBER), (0.97, Lamp.RED)]
)
def test_fill_bars_take_the_zone_colour(qtbot, fill, lamp):
    panel = SourcePanel("system")
    qtbot.addWidget(panel)
    panel.resize(320, 140)
    panel.set_view(SourceView("system", True, fill, 1.0))
    assert panel.fill_bar.format() == f"{round(fill * 100)} % full"  # the number, not only the colour
    assert panel.fill_bar.colour() == LAMP_COLOURS[lamp]
    assert chunk_colour(panel) == LAMP_COLOURS[lamp]


def test_stale_bar_is_grey_and_text_stays_readable(qtbot):
    panel = SourcePanel("mic")
    qtbot.addWidget(panel)
    panel.resize(320, 140)
    panel.set_view(SourceView("mic", True, 0.97, 1.9, fresh=False, age_seconds=4.0))
    colour = chunk_colour(panel)
    assert colour.saturation() < 30  # grey, not red
    for background in (*LAMP_COLOURS.values(), colour):
        assert _contrast(ink_for(background), background) >= 4.0, background.name()  # ~WCAG AA


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_series_lines_stand_out_on_the_plot_in_both_themes(qtbot, theme):
    """The dark theme's line was nearly invisible: each series must contrast with the plot's base."""
    from app.ui.self_test import dark_palette, grab_at

    chart = FillChart()
    qtbot.addWidget(chart)
    if theme == "dark":
        chart.setPalette(dark_palette())
    chart.resize(500, 220)
    for t in range(30):
        chart.add_sample(float(t), {"system": 0.5, "mic": 0.3})
    plot = chart.plot_rect()
    base = chart.palette().color(QPalette.ColorRole.Base)
    for scale in (1.0, 2.0):
        image = grab_at(chart, scale)
        for value in (0.5, 0.3):
            y = plot.bottom() - value * plot.height()
            x = plot.right() - 3
            column = [image.pixelColor(int(x * scale), int((y + dy) * scale)) for dy in (-1, 0, 1)]
            best = max(_contrast(colour, base) for colour in column)
            assert best >= 3.0, (theme, scale, value, [c.name() for c in column], base.name())
