"""A 60-second chart of queue fill ratio per source, painted with QPainter (QtCharts is not in
PySide6-Essentials).

The y axis runs 0 to 1.0 (labelled on the left); the three thresholds (0.70 clears, 0.85 buffering,
0.95 overloaded) are dotted lines labelled on the right edge, in a smaller font and spread apart
so their labels never overlap however short the chart; the bands above 0.85 and 0.95 are tinted
amber and red (the lamp's colours, faint) so the zones read at a glance. Series differ by line
style as well as colour; their colours are picked for the plot's background (a darker shade on a
light base, a lighter one on a dark base), never taken from palette roles that a dark theme may
make nearly as dark as the plot.

History is bounded: samples older than the window are pruned and each series holds at most
``MAX_SAMPLES`` points (drop oldest), so a long session never grows memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.core.level import Level
from app.ui.level_style import style_for
from app.ui.present import BUFFERING_FILL, CLEAR_FILL, OVERLOADED_FILL

WINDOW_SECONDS = 60.0
MAX_SAMPLES = 60 * 20  # 20 samples/s for 60 s, far above the controller's sampling rate
AXIS_TICKS = ((0.0, "0"), (0.5, "0.5"), (1.0, "1.0"))
THRESHOLDS = (  # value, label, the zone it opens (None: the line where the level clears)
    (CLEAR_FILL, f"{CLEAR_FILL:.2f}", None),
    (BUFFERING_FILL, f"{BUFFERING_FILL:.2f}", Level.BUFFERING),
    (OVERLOADED_FILL, f"{OVERLOADED_FILL:.2f}", Level.OVERLOADED),
)
BAND_ALPHA = 38  # the zone tints: visible, but the lines stay the thing to read
BUFFERING_BAND = OVERLOADED_FILL - BUFFERING_FILL  # the amber band's height, as a share of the plot
SMALL_FONT_SCALE = 0.85
SERIES_STYLE = {  # source -> ((colour on light, on dark), pen style, legend label): style differs too
    "system": (("#1565c0", "#64b5f6"), Qt.PenStyle.SolidLine, "System audio"),
    "mic": (("#6a1b9a", "#e1a6f0"), Qt.PenStyle.DashLine, "Microphone"),
}
OTHER_SERIES = (("#424242", "#e0e0e0"), Qt.PenStyle.DotLine)


@dataclass(frozen=True, slots=True)
class AxisLabel:
    text: str
    rect: QRectF  # where it is drawn, in widget coordinates
    value: float  # the fill ratio it labels
    threshold: bool = False  # a threshold label (right edge, small font), else the axis (left)


def spread(centres: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Move label centres (top to bottom, ascending) apart so neighbours are at least ``gap`` apart,
    staying within [``low``, ``high``] where the room allows: pushed down in order, then back up
    from ``high`` if the last one ran out of room. Centres already far enough apart stay put."""
    out = [min(max(c, low), high) for c in centres]
    for i in range(1, len(out)):  # push down
        out[i] = max(out[i], out[i - 1] + gap)
    if out and out[-1] > high:  # no room below: push back up from the bottom
        out[-1] = high
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - gap)
    return out


def _tint(level: Level) -> QColor:
    colour = QColor(style_for(level).colour)
    colour.setAlpha(BAND_ALPHA)
    return colour


class FillChart(QWidget):
    """Call ``add_sample(t, {source: fill_ratio})`` with a monotonic ``t`` (seconds); ``clear()`` at start."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fillChart")
        self.setAccessibleName("Queue fill, last 60 seconds")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._series: dict[str, deque[tuple[float, float]]] = {}
        self._now = 0.0

    def add_sample(self, t: float, values: Mapping[str, float | None]) -> None:
        self._now = t
        for source, value in values.items():
            series = self._series.setdefault(source, deque(maxlen=MAX_SAMPLES))
            if value is not None:
                series.append((t, max(0.0, min(1.0, value))))
            while series and series[0][0] < t - WINDOW_SECONDS:
                series.popleft()
        self.update()

    def clear(self) -> None:
        self._series.clear()
        self.update()

    def series(self, source: str) -> list[tuple[float, float]]:
        return list(self._series.get(source, ()))

    def sizeHint(self) -> QSize:
        return QSize(420, 190)

    def minimumSizeHint(self) -> QSize:
        return QSize(220, 110)

    # ------------------------------------------------------------------ geometry

    def small_font(self) -> QFont:
        font = QFont(self.font())
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * SMALL_FONT_SCALE)
        else:
            font.setPixelSize(max(8, round(font.pixelSize() * SMALL_FONT_SCALE)))
        return font

    def plot_rect(self) -> QRectF:
        """The data area: room on the left for the axis, on the right for the thresholds, below for
        the time axis and the legend, and half a label above so "1.0" is not cut off."""
        metrics = QFontMetricsF(self.font())
        small = QFontMetricsF(self.small_font())
        left = max(metrics.horizontalAdvance(text) for _, text in AXIS_TICKS) + 10.0
        right = max(small.horizontalAdvance(text) for _, text, _ in THRESHOLDS) + 10.0
        top = metrics.height() / 2 + 2.0
        bottom = metrics.height() * 2 + 10.0
        width, height = self.width() - left - right, self.height() - top - bottom
        return QRectF(left, top, max(1.0, width), max(1.0, height))

    def axis_labels(self) -> list[AxisLabel]:
        """Every y label as drawn: the 0 / 0.5 / 1.0 axis on the left, the thresholds on the right."""
        plot = self.plot_rect()
        h = QFontMetricsF(self.font()).height()
        labels = [
            AxisLabel(text, QRectF(0, self._y(plot, value) - h / 2, plot.left() - 5, h), value)
            for value, text in AXIS_TICKS
        ]
        small_h = QFontMetricsF(self.small_font()).height()
        ordered = sorted(THRESHOLDS, reverse=True)  # top (0.95) to bottom
        centres = spread([self._y(plot, v) for v, _, _ in ordered], small_h, small_h / 2, self.height())
        width = self.width() - plot.right() - 4
        labels += [
            AxisLabel(text, QRectF(plot.right() + 4, y - small_h / 2, width, small_h), value, threshold=True)
            for (value, text, _), y in zip(ordered, centres, strict=True)
        ]
        return labels

    def _y(self, plot: QRectF, value: float) -> float:
        return plot.bottom() - value * plot.height()

    def _x(self, plot: QRectF, t: float) -> float:
        return plot.right() - (self._now - t) / WINDOW_SECONDS * plot.width()

    # ------------------------------------------------------------------ painting

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        plot = self.plot_rect()
        painter.fillRect(plot, pal.color(QPalette.ColorRole.Base))
        self._paint_zones(painter, plot)
        painter.save()
        painter.setClipRect(plot)
        for source, series in self._series.items():
            self._paint_series(painter, plot, source, series)
        painter.restore()
        painter.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(plot)
        self._paint_y_labels(painter)
        self._paint_time_axis_and_legend(painter, plot)
        painter.end()

    def _paint_zones(self, painter: QPainter, plot: QRectF) -> None:
        """Tinted bands above 0.85 and 0.95, dotted threshold lines, a faint 0.5 grid line."""
        painter.fillRect(
            QRectF(plot.left(), self._y(plot, OVERLOADED_FILL), plot.width(), plot.height() * BUFFERING_BAND),
            _tint(Level.BUFFERING),
        )
        painter.fillRect(
            QRectF(plot.left(), plot.top(), plot.width(), self._y(plot, OVERLOADED_FILL) - plot.top()),
            _tint(Level.OVERLOADED),
        )
        grid = QColor(self.palette().color(QPalette.ColorRole.Mid))
        grid.setAlpha(90)
        painter.setPen(QPen(grid, 1))
        y = self._y(plot, 0.5)
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        for value, _, zone in THRESHOLDS:
            colour = (
                style_for(zone).colour if zone is not None else self.palette().color(QPalette.ColorRole.Mid)
            )
            painter.setPen(QPen(colour, 1, Qt.PenStyle.DotLine))
            y = self._y(plot, value)
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))

    def _paint_y_labels(self, painter: QPainter) -> None:
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        for label in self.axis_labels():
            painter.setFont(self.small_font() if label.threshold else self.font())
            align = Qt.AlignmentFlag.AlignLeft if label.threshold else Qt.AlignmentFlag.AlignRight
            painter.drawText(label.rect, align | Qt.AlignmentFlag.AlignVCenter, label.text)
        painter.setFont(self.font())

    def _paint_series(
        self, painter: QPainter, plot: QRectF, source: str, series: deque[tuple[float, float]]
    ) -> None:
        if not series:
            return
        colours, pen_style, _ = SERIES_STYLE.get(source, (*OTHER_SERIES, source))
        path = QPainterPath()
        for i, (t, value) in enumerate(series):
            point = QPointF(max(plot.left(), self._x(plot, t)), self._y(plot, value))
            if i == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        painter.setPen(QPen(self.series_colour(colours), 2, pen_style))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)

    def series_colour(self, colours: tuple[str, str]) -> QColor:
        """The shade that stands out on the plot's background (the palette's base)."""
        dark = self.palette().color(QPalette.ColorRole.Base).lightness() < 128
        return QColor(colours[1] if dark else colours[0])

    def _paint_time_axis_and_legend(self, painter: QPainter, plot: QRectF) -> None:
        pal = self.palette()
        metrics = painter.fontMetrics()
        y = plot.bottom() + 4
        h = float(metrics.height())
        painter.setPen(pal.color(QPalette.ColorRole.WindowText))
        painter.drawText(QRectF(plot.left(), y, 80, h), Qt.AlignmentFlag.AlignLeft, "−60 s")
        painter.drawText(QRectF(plot.right() - 80, y, 80, h), Qt.AlignmentFlag.AlignRight, "now")
        x = plot.left()
        legend_y = y + h + 2
        for colours, pen_style, label in SERIES_STYLE.values():
            painter.setPen(QPen(self.series_colour(colours), 2, pen_style))
            painter.drawLine(QPointF(x, legend_y + h / 2), QPointF(x + 24, legend_y + h / 2))
            painter.setPen(pal.color(QPalette.ColorRole.WindowText))
            width = metrics.horizontalAdvance(label)
            painter.drawText(QRectF(x + 28, legend_y, width + 4, h), Qt.AlignmentFlag.AlignVCenter, label)
            x += 28 + width + 18
        label = "queue fill (thresholds 0.70 clear · 0.85 buffering · 0.95 overloaded)"
        painter.drawText(
            QRectF(x, legend_y, plot.right() - x, h),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(max(0.0, plot.right() - x))),
        )

