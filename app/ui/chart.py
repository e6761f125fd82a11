"""A 60-second chart of queue fill ratio per source, painted with QPainter (QtCharts is not in
PySide6-Essentials), with dashed threshold lines at 0.70 (clears), 0.85 (buffering), 0.95 (overloaded).

History is bounded: samples older than the window are pruned and each series holds at most
``MAX_SAMPLES`` points (drop oldest), so a long session never grows memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

WINDOW_SECONDS = 60.0
MAX_SAMPLES = 60 * 20  # 20 samples/s for 60 s, far above the controller's sampling rate
THRESHOLDS = ((0.70, "0.70"), (0.85, "0.85"), (0.95, "0.95"))
SERIES_STYLE = {  # source -> (palette role, pen style, legend label): line style differs, not just colour
    "system": (QPalette.ColorRole.Highlight, Qt.PenStyle.SolidLine, "System audio"),
    "mic": (QPalette.ColorRole.Link, Qt.PenStyle.DashLine, "Microphone"),
}


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
        return QSize(420, 170)

    def minimumSizeHint(self) -> QSize:
        return QSize(220, 110)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        metrics = painter.fontMetrics()
        left = metrics.horizontalAdvance("0.95") + 10.0
        plot = QRectF(left, 6.0, self.width() - left - 8.0, self.height() - metrics.height() * 2 - 14.0)
        painter.fillRect(plot, pal.color(QPalette.ColorRole.Base))
        painter.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        painter.drawRect(plot)
        self._paint_thresholds(painter, plot)
        painter.save()
        painter.setClipRect(plot)
        for source, series in self._series.items():
            self._paint_series(painter, plot, source, series)
        painter.restore()
        self._paint_axis_and_legend(painter, plot)
        painter.end()

    def _y(self, plot: QRectF, value: float) -> float:
        return plot.bottom() - value * plot.height()

    def _x(self, plot: QRectF, t: float) -> float:
        return plot.right() - (self._now - t) / WINDOW_SECONDS * plot.width()

    def _paint_thresholds(self, painter: QPainter, plot: QRectF) -> None:
        pal = self.palette()
        pen = QPen(pal.color(QPalette.ColorRole.PlaceholderText), 1, Qt.PenStyle.DotLine)
        label_h = painter.fontMetrics().height()
        last_label_y = float("-inf")
        for value, label in sorted(THRESHOLDS, reverse=True):
            y = self._y(plot, value)
            painter.setPen(pen)
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            if y - last_label_y < label_h:
                continue  # a short chart: keep the line, drop the label it would overlap
            last_label_y = y
            painter.setPen(pal.color(QPalette.ColorRole.WindowText))
            painter.drawText(
                QRectF(0, y - 8, plot.left() - 4, 16),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                label,
            )

    def _paint_series(
        self, painter: QPainter, plot: QRectF, source: str, series: deque[tuple[float, float]]
    ) -> None:
        if not series:
            return
        role, pen_style, _ = SERIES_STYLE.get(source, (QPalette.ColorRole.Text, Qt.PenStyle.DotLine, source))
        path = QPainterPath()
        for i, (t, value) in enumerate(series):
            point = QPointF(max(plot.left(), self._x(plot, t)), self._y(plot, value))
            if i == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        painter.setPen(QPen(self.palette().color(role), 2, pen_style))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)

    def _paint_axis_and_legend(self, painter: QPainter, plot: QRectF) -> None:
        pal = self.palette()
        metrics = painter.fontMetrics()
        y = plot.bottom() + 4
        h = float(metrics.height())
        painter.setPen(pal.color(QPalette.ColorRole.WindowText))
        painter.drawText(QRectF(plot.left(), y, 80, h), Qt.AlignmentFlag.AlignLeft, "−60 s")
        painter.drawText(QRectF(plot.right() - 80, y, 80, h), Qt.AlignmentFlag.AlignRight, "now")
        x = plot.left()
        legend_y = y + h + 2
        for role, pen_style, label in SERIES_STYLE.values():
            painter.setPen(QPen(pal.color(role), 2, pen_style))
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
