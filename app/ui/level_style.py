"""How each status light (``app.core.status_report.Light``, the lamp and the tray) and each server
backpressure level (the small secondary badge, the fill bars, the chart) looks: lamp position,
colour, text label and glyph shape.

Colour is never the only cue: every light also has its own label and its own glyph shape
(check-in-circle, triangle, octagon-with-cross, question mark, dash, exclamation). The lamp widget
and the tray icon both draw from here, so the two always agree.

Lamp colours are the one place with hard-coded colours (a traffic light is red/amber/green in
every theme); everything else uses palette roles.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from app.core.level import Level
from app.core.status_report import LABELS, Light


class Lamp(enum.IntEnum):
    """Lamp positions, top to bottom."""

    RED = 0
    AMBER = 1
    GREEN = 2


class Glyph(enum.StrEnum):
    CHECK_CIRCLE = "check-circle"
    TRIANGLE = "triangle"
    OCTAGON = "octagon"
    QUESTION = "question"
    DASH = "dash"
    EXCLAIM = "exclaim"


LAMP_COLOURS = {Lamp.RED: QColor("#e53935"), Lamp.AMBER: QColor("#ffb300"), Lamp.GREEN: QColor("#43a047")}
GREY = QColor("#8a8a8a")
FAILED_COLOUR = QColor("#8e24aa")  # not a lamp colour: a failed session is neither "losing" nor "idle"
HOUSING = QColor("#262a2e")  # the traffic light's body; part of the lamp look, not the theme


@dataclass(frozen=True, slots=True)
class LevelStyle:
    label: str
    glyph: Glyph
    lamp: Lamp | None  # None: no lamp lit (everything grey)
    colour: QColor  # glyph/tray colour
    ink: QColor  # the mark inside the glyph: dark on amber, white elsewhere, for contrast
    spoken: str  # accessible name suffix


_WHITE = QColor("#ffffff")
_DARK = QColor("#1e1e1e")

STYLES: dict[Level, LevelStyle] = {
    Level.NORMAL: LevelStyle(
        "Normal", Glyph.CHECK_CIRCLE, Lamp.GREEN, LAMP_COLOURS[Lamp.GREEN], _WHITE, "normal (green)"
    ),
    Level.BUFFERING: LevelStyle(
        "Buffering", Glyph.TRIANGLE, Lamp.AMBER, LAMP_COLOURS[Lamp.AMBER], _DARK, "buffering (amber)"
    ),
    Level.OVERLOADED: LevelStyle(
        "Overloaded", Glyph.OCTAGON, Lamp.RED, LAMP_COLOURS[Lamp.RED], _WHITE, "overloaded (red)"
    ),
    Level.UNKNOWN: LevelStyle("Unknown", Glyph.QUESTION, None, GREY, _WHITE, "unknown (grey)"),
    Level.IDLE: LevelStyle("Idle", Glyph.DASH, None, GREY, _WHITE, "idle (grey)"),
}


LIGHT_STYLES: dict[Light, LevelStyle] = {
    Light.LIVE: LevelStyle(LABELS[Light.LIVE], Glyph.CHECK_CIRCLE, Lamp.GREEN, LAMP_COLOURS[Lamp.GREEN],
                           _WHITE, "live (green)"),
    Light.BEHIND: LevelStyle(LABELS[Light.BEHIND], Glyph.TRIANGLE, Lamp.AMBER, LAMP_COLOURS[Lamp.AMBER],
                             _DARK, "behind (amber)"),
    Light.LOSING: LevelStyle(LABELS[Light.LOSING], Glyph.OCTAGON, Lamp.RED, LAMP_COLOURS[Lamp.RED], _WHITE,
                             "losing audio (red)"),
    Light.UNKNOWN: LevelStyle(LABELS[Light.UNKNOWN], Glyph.QUESTION, None, GREY, _WHITE,
                              "not measured (grey)"),
    Light.IDLE: LevelStyle(LABELS[Light.IDLE], Glyph.DASH, None, GREY, _WHITE, "not streaming (grey)"),
    Light.FAILED: LevelStyle(LABELS[Light.FAILED], Glyph.EXCLAIM, None, FAILED_COLOUR, _WHITE,
                             "failed (purple)"),
}


def style_for(level: Level) -> LevelStyle:
    """The server's backpressure level (secondary: the badge, fill bars and chart)."""
    return STYLES[level]


def light_style(light: Light) -> LevelStyle:
    """The status light (the lamp, the tray icon)."""
    return LIGHT_STYLES[light]


def accessible_name(light: Light) -> str:
    return f"Transcription status: {LIGHT_STYLES[light].spoken}"


# --------------------------------------------------------------------------- glyph painting


def _octagon(rect: QRectF) -> QPolygonF:
    # Regular octagon inscribed in ``rect``: corners cut at 29.3 % of each side.
    x, y, w, h = rect.x(), rect.y(), rect.width(), rect.height()
    c = 0.293
    pts = [
        (c, 0),
        (1 - c, 0),
        (1, c),
        (1, 1 - c),
        (1 - c, 1),
        (c, 1),
        (0, 1 - c),
        (0, c),
    ]
    return QPolygonF([QPointF(x + px * w, y + py * h) for px, py in pts])


def _triangle(rect: QRectF) -> QPolygonF:
    return QPolygonF(
        [
            QPointF(rect.center().x(), rect.top()),
            QPointF(rect.right(), rect.bottom()),
            QPointF(rect.left(), rect.bottom()),
        ]
    )


def draw_glyph(painter: QPainter, glyph: Glyph, rect: QRectF, fill: QColor, ink: QColor) -> None:
    """Draw ``glyph`` inside ``rect``: a solid shape in ``fill`` with its mark in ``ink``.

    The shapes differ in outline (circle, triangle, octagon) as well as in the mark inside, so
    the level is readable in greyscale and by people who cannot tell red from green.
    """
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    side = min(rect.width(), rect.height())
    box = QRectF(0, 0, side, side)
    box.moveCenter(rect.center())
    outline = QPen(ink.darker(150) if ink.lightness() > 128 else ink, max(1.0, side * 0.04))
    mark = QPen(
        ink, max(1.5, side * 0.12), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
    )
    painter.setBrush(fill)
    painter.setPen(outline)
    if glyph is Glyph.CHECK_CIRCLE:
        painter.drawEllipse(box.adjusted(side * 0.04, side * 0.04, -side * 0.04, -side * 0.04))
        path = QPainterPath(QPointF(box.left() + side * 0.27, box.top() + side * 0.52))
        path.lineTo(box.left() + side * 0.44, box.top() + side * 0.68)
        path.lineTo(box.left() + side * 0.74, box.top() + side * 0.34)
        painter.setPen(mark)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
    elif glyph is Glyph.TRIANGLE:
        tri = box.adjusted(side * 0.02, side * 0.06, -side * 0.02, -side * 0.08)
        painter.drawPolygon(_triangle(tri))
        painter.setPen(mark)
        cx = box.center().x()
        painter.drawLine(QPointF(cx, box.top() + side * 0.36), QPointF(cx, box.top() + side * 0.62))
        painter.drawPoint(QPointF(cx, box.top() + side * 0.78))
    elif glyph is Glyph.OCTAGON:
        painter.drawPolygon(_octagon(box.adjusted(side * 0.03, side * 0.03, -side * 0.03, -side * 0.03)))
        painter.setPen(mark)
        a, b = side * 0.32, side * 0.68
        painter.drawLine(QPointF(box.left() + a, box.top() + a), QPointF(box.left() + b, box.top() + b))
        painter.drawLine(QPointF(box.left() + b, box.top() + a), QPointF(box.left() + a, box.top() + b))
    elif glyph is Glyph.EXCLAIM:
        painter.drawEllipse(box.adjusted(side * 0.04, side * 0.04, -side * 0.04, -side * 0.04))
        painter.setPen(mark)
        cx = box.center().x()
        painter.drawLine(QPointF(cx, box.top() + side * 0.24), QPointF(cx, box.top() + side * 0.56))
        painter.drawPoint(QPointF(cx, box.top() + side * 0.75))
    elif glyph is Glyph.QUESTION:
        painter.drawEllipse(box.adjusted(side * 0.04, side * 0.04, -side * 0.04, -side * 0.04))
        font = QFont(painter.font())
        font.setBold(True)
        font.setPixelSize(max(6, int(side * 0.7)))
        painter.setFont(font)
        painter.setPen(ink)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "?")
    else:  # DASH: idle
        painter.drawEllipse(box.adjusted(side * 0.04, side * 0.04, -side * 0.04, -side * 0.04))
        painter.setPen(mark)
        y = box.center().y()
        painter.drawLine(QPointF(box.left() + side * 0.28, y), QPointF(box.right() - side * 0.28, y))
    painter.restore()


def level_pixmap(level: Level | Light, size: int) -> QPixmap:
    """A square icon (tray icon, window icon, badge): the light's (or server level's) glyph in its colour."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    style = LIGHT_STYLES[level] if isinstance(level, Light) else STYLES[level]
    draw_glyph(painter, style.glyph, QRectF(0, 0, size, size), style.colour, style.ink)
    painter.end()
    return pixmap
