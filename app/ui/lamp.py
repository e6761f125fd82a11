"""The traffic light: three lamps (red top, amber middle, green bottom) plus a caption.

Takes plain values (a ``Level`` and a reason string) and repaints only when they change. The lit
lamp carries the level's glyph and the caption repeats glyph + text label, so the state reads
without colour. ``accessibleName``/``accessibleDescription`` follow the level and the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QPen, QRadialGradient
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.core.level import Level
from app.ui.level_style import (
    GREY,
    HOUSING,
    LAMP_COLOURS,
    Glyph,
    Lamp,
    accessible_name,
    draw_glyph,
    style_for,
)

PaintProbe = Callable[[float], None]


class TrafficLight(QWidget):
    """Shows one ``Level``. Call ``set_level``; read back ``level()``, ``lit_lamp()``, ``label_text()``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._level = Level.IDLE
        self._reason = "Not streaming"
        self._paint_probe: PaintProbe | None = None
        self.setObjectName("trafficLight")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # reachable by screen readers via Tab
        self._update_accessibility()

    # ------------------------------------------------------------------ plain-value interface

    def set_level(self, level: Level, reason: str) -> None:
        """Show ``level``; repaint only if the level or reason changed."""
        if level is self._level and reason == self._reason:
            return
        self._level = level
        self._reason = reason
        self._update_accessibility()
        self.update()

    def level(self) -> Level:
        return self._level

    def reason(self) -> str:
        return self._reason

    def lit_lamp(self) -> Lamp | None:
        return style_for(self._level).lamp

    def label_text(self) -> str:
        return style_for(self._level).label

    def glyph(self) -> Glyph:
        return style_for(self._level).glyph

    def lamp_rect(self, lamp: Lamp) -> QRectF:
        """Where ``lamp`` is drawn (widget coordinates), so tests can check the rendered colour."""
        return self._lamp_rect(self._housing_rect(self._caption_height()), lamp)

    def set_paint_probe(self, probe: PaintProbe | None) -> None:
        """For ``python -m app.bench ui``: called with ``time.perf_counter()`` after every paint."""
        self._paint_probe = probe

    def _update_accessibility(self) -> None:
        self.setAccessibleName(accessible_name(self._level))
        self.setAccessibleDescription(
            f"{self.label_text()}: {self._reason}" if self._reason else self.label_text()
        )
        self.setToolTip(f"{self.label_text()} — {self._reason}" if self._reason else self.label_text())

    # ------------------------------------------------------------------ Qt overrides

    def sizeHint(self) -> QSize:
        return QSize(160, 400)

    def minimumSizeHint(self) -> QSize:
        return QSize(110, 270)

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
        return max(40.0, self.height() * 0.13)

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
        style = style_for(self._level)
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
            # No lamp is lit: the middle lamp carries the idle/unknown glyph, in grey.
            glyph_rect = rect.adjusted(
                rect.width() * 0.22, rect.height() * 0.22, -rect.width() * 0.22, -rect.height() * 0.22
            )
            draw_glyph(painter, style.glyph, glyph_rect, GREY.darker(130), QColor("#dddddd"))

    def _paint_caption(self, painter: QPainter, rect: QRectF) -> None:
        style = style_for(self._level)
        font = QFont(self.font())
        font.setBold(True)
        font.setPixelSize(max(12, min(26, int(rect.height() * 0.55))))
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
