"""Windows and dialogs that fit the screen they are on, at any scale: clamped to the available
geometry, with content that scrolls instead of overflowing, and a message area whose space is always
reserved so showing or hiding a message never moves a control.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget

MESSAGE_LINES = 2
TITLE_BAR_GUESS = 32  # before a window is shown its frame is unknown: leave room for a title bar


def available(widget: QWidget) -> QRect:
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def clamp_to_screen(widget: QWidget, preferred: QSize | None = None) -> None:
    """Resize ``widget`` to ``preferred`` (default: its size) but never larger than its screen's
    available area, and move it so that it lies inside it."""
    area = available(widget)
    want = preferred or widget.size()
    frame, inner = widget.frameGeometry(), widget.geometry()
    extra_w = frame.width() - inner.width()
    extra_h = max(frame.height() - inner.height(), 0 if widget.isVisible() else TITLE_BAR_GUESS)
    width = max(widget.minimumWidth(), min(want.width(), area.width() - extra_w))
    height = max(widget.minimumHeight(), min(want.height(), area.height() - extra_h))
    widget.resize(width, height)
    frame = widget.frameGeometry()
    x = min(max(frame.x(), area.x()), area.right() - frame.width() + 1)
    y = min(max(frame.y(), area.y()), area.bottom() - frame.height() + 1)
    widget.move(max(area.x(), x), max(area.y(), y))


def fits_screen(widget: QWidget) -> bool:
    return available(widget).contains(widget.frameGeometry())


def fit_vertically(content: QWidget) -> QScrollArea:
    """``content`` in a frameless scroll area: full size when there is room, scrolling when not."""
    area = QScrollArea()
    area.setWidget(content)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
    area.setMinimumHeight(min(160, content.minimumSizeHint().height()))
    hint = content.sizeHint()
    area.sizeHint = lambda: QSize(hint.width(), hint.height())  # type: ignore[method-assign]
    return area


def reserve_space(bar: QWidget, lines: int = MESSAGE_LINES) -> QWidget:
    """Give the message bar a fixed height of ``lines`` text lines, kept while it is hidden."""
    metrics = bar.fontMetrics()
    margins = bar.contentsMargins()
    bar.setFixedHeight(lines * metrics.lineSpacing() + margins.top() + margins.bottom() + 10)
    policy = bar.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    bar.setSizePolicy(policy)
    return bar
