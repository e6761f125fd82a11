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


class FitArea(QScrollArea):
    """A frameless vertical scroll area whose minimum height is its content's (so nothing scrolls while
    there is room), unless ``cap`` limits it for a screen too small (``allow_scrolling``)."""

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.cap: int | None = None

    def content_height(self) -> int:
        content = self.widget()
        return content.minimumSizeHint().height() if content is not None else 0

    def minimumSizeHint(self) -> QSize:
        height = self.content_height()
        return QSize(super().minimumSizeHint().width(), height if self.cap is None else min(height, self.cap))

    def sizeHint(self) -> QSize:
        content = self.widget()
        return content.sizeHint() if content is not None else super().sizeHint()


def fit_vertically(content: QWidget) -> FitArea:
    """``content`` in a ``FitArea``: full size when there is room, scrolling when not."""
    return FitArea(content)


def allow_scrolling(window: QWidget, area: FitArea, floor: int = 120) -> None:
    """If ``window``'s minimum height does not fit its screen, let ``area`` shrink (and scroll) by as
    much as needed, down to ``floor``; on a screen with room, nothing changes."""
    area.cap = None
    _relayout(area)
    excess = window.minimumSizeHint().height() + TITLE_BAR_GUESS - available(window).height()
    if excess > 0:
        area.cap = max(floor, area.content_height() - excess)
        _relayout(area)


def _relayout(widget: QWidget) -> None:
    """A minimum size changed: drop the cached sizes of every layout up to the window."""
    current: QWidget | None = widget
    while current is not None:
        current.updateGeometry()
        layout = current.layout()
        if layout is not None:
            layout.invalidate()
        current = current.parentWidget()


def reserve_space(bar: QWidget, lines: int = MESSAGE_LINES) -> QWidget:
    """Give the message bar a fixed height of ``lines`` text lines, kept while it is hidden."""
    metrics = bar.fontMetrics()
    margins = bar.contentsMargins()
    bar.setFixedHeight(lines * metrics.lineSpacing() + margins.top() + margins.bottom() + 4)
    policy = bar.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    bar.setSizePolicy(policy)
    return bar
