"""The traffic light: three lamps (red top, amber middle, green bottom) plus a caption.

Takes plain values (a ``Light`` from the session's ``StatusReport`` and its reason) and repaints only
when they change. The lit lamp carries the light's glyph and the caption repeats glyph + text label,
so the state reads without colour; with no lamp lit (idle, not measured, failed) the middle lamp
carries the glyph. ``accessibleName``/``accessibleDescription`` follow the light and the reason.
The whole drawing scales with the widget: the window sizes it from its own height.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QPen, QRadialGradient
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.core.status_report import Light
from app.ui.level_style import (
    GREY,
    HOUSING,
    LAMP_COLOURS,
    Glyph,
    Lamp,
    accessible_name,
    draw_glyph,
    light_style,
)

PaintProbe = Callable[[float], None]


class TrafficLight(QWidget):
    """Shows one ``Light``. Call ``set_light``; read back ``light()``, ``lit_lamp()``, ``label_text()``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._light = Light.IDLE
        self._reason = "Not streaming"
        self._paint_probe: PaintProbe | None = None
        self.setObjectName("trafficLight")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # reachable by screen readers via Tab
        self._update_accessibility()

    # ------------------------------------------------------------------ plain-value interface

    def set_light(self, light: Light, reason: str) -> None:
        """Show ``light``; repaint only if the light or reason changed."""
        if light is self._light and reason == self._reason:
            return
        self._light = light
        self._reason = reason
        self._update_accessibility()
        self.update()

    def light(self) -> Light:
        return self._light

    def reason(self) -> str:
        return self._reason

    def lit_lamp(self) -> Lamp | None:
        return light_style(self._light).lamp

    def label_text(self) -> str:
        return light_style(self._light).label

    def glyph(self) -> Glyph:
        return light_style(self._light).glyph

    def lamp_rect(self, lamp: Lamp) -> QRectF:
        """Where ``lamp`` is drawn (widget coordinates), so tests can check the rendered colour."""
        return self._lamp_rect(self._housing_rect(self._caption_height()), lamp)

    def set_paint_probe(self, probe: PaintProbe | None) -> None:
        """For ``python -m app.bench ui``: called with ``time.perf_counter()`` after every paint."""
        self._paint_probe = probe

    def _update_accessibility(self) -> None:
        self.setAccessibleName(accessible_name(self._light))
        self.setAccessibleDescription(
            f"{self.label_text()}: {self._reason}" if self._reason else self.label_text()
        )
        self.setToolTip(f"{self.label_text()} — {self._reason}" if self._reason else self.label_text())

    # ------------------------------------------------------------------ Qt overrides

    def sizeHint(self) -> QSize:
        return QSize(120, 300)

    def minimumSizeHint(self) -> QSize:
        return QSize(64, 150)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        caption_h = self._caption_height()
        body = self._housing_rect(caption_h)
        # The outline comes from the palette, so the body stands out on dark themes too.
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 2))
        painter.setBrush(HOUSING)
        radius = body.width() * 0.22
        painter.drawRoundedRect(body, radius, radius)
        for lamp in Lamp:
            self._paint_lamp(painter, lamp, self._lamp_rect(body, lamp))
        self._paint_caption(painter, QRectF(0, body.bottom() + 6, self.width(), caption_h - 6))
        painter.end()
        if self._paint_probe is not None:
            self._paint_probe(time.perf_counter())

    # ------------------------------------------------------------------ geometry and painting

    def _caption_height(self) -> float:
        return max(self.fontMetrics().height() * 1.6, self.height() * 0.12)

    def _housing_rect(self, caption_h: float) -> QRectF:
        avail_h = self.height() - caption_h - 4
        width = min(self.width() - 8.0, avail_h / 2.7)
        body = QRectF(0, 0, width, width * 2.7)
        body.moveCenter(QPointF(self.width() / 2, 2 + avail_h / 2))
        return body

    @staticmethod
    def _lamp_rect(body: QRectF, lamp: Lamp) -> QRectF:
        cell = body.height() / 3
        diameter = min(body.width(), cell) * 0.78
        centre = QPointF(body.center().x(), body.top() + cell * (int(lamp) + 0.5))
        rect = QRectF(0, 0, diameter, diameter)
        rect.moveCenter(centre)
        return rect

    def _paint_lamp(self, painter: QPainter, lamp: Lamp, rect: QRectF) -> None:
        style = light_style(self._light)
        lit = style.lamp is lamp
        if lit:
            base = LAMP_COLOURS[lamp]
            gradient = QRadialGradient(
                rect.center() - QPointF(rect.width() * 0.15, rect.height() * 0.15), rect.width() * 0.7
            )
            gradient.setColorAt(0.0, base.lighter(140))
            gradient.setColorAt(1.0, base)
            painter.setBrush(gradient)
        elif style.lamp is None:
            painter.setBrush(GREY.darker(220))  # idle / unknown: every lamp grey
        else:
            painter.setBrush(LAMP_COLOURS[lamp].darker(420))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(rect)
        if lit:
            glyph_rect = rect.adjusted(
                rect.width() * 0.22, rect.height() * 0.22, -rect.width() * 0.22, -rect.height() * 0.22
            )
            draw_glyph(painter, style.glyph, glyph_rect, LAMP_COLOURS[lamp].darker(115), style.ink)
        elif style.lamp is None and lamp is Lamp.AMBER:
            # No lamp is lit: the middle lamp carries the glyph, grey (idle, not measured) or in the
            # failed colour, so a failed session never looks like one that never started.
            glyph_rect = rect.adjusted(
                rect.width() * 0.22, rect.height() * 0.22, -rect.width() * 0.22, -rect.height() * 0.22
            )
            fill = style.colour if self._light is Light.FAILED else GREY.darker(130)
            draw_glyph(painter, style.glyph, glyph_rect, fill, QColor("#f0f0f0"))

    def _paint_caption(self, painter: QPainter, rect: QRectF) -> None:
        style = light_style(self._light)
        font = QFont(self.font())
        font.setBold(True)
        font.setPixelSize(max(10, min(26, int(rect.height() * 0.55))))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        fits = rect.width() - 8
        while metrics.horizontalAdvance(style.label) + metrics.height() > fits and font.pixelSize() > 9:
            font.setPixelSize(font.pixelSize() - 1)  # a narrow lamp: the label still fits
            painter.setFont(font)
            metrics = painter.fontMetrics()
        icon = float(metrics.height())
        text_w = metrics.horizontalAdvance(style.label)
        total = icon + 8 + text_w
        left = rect.center().x() - total / 2
        glyph_rect = QRectF(left, rect.center().y() - icon / 2, icon, icon)
        draw_glyph(painter, style.glyph, glyph_rect, style.colour, style.ink)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        text_rect = QRectF(left + icon + 8, rect.top(), text_w + 2, rect.height())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, style.label)
