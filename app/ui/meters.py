"""Per-source panels: queue fill bar, backlog seconds, server drops (recent / total), client drops.

Takes ``SourceView`` values; updates its labels only when the values change. The fill bar is
coloured by zone (green < 0.85 <= amber < 0.95 <= red, the lamp's colours) and also says the
percentage in words, so colour is never the only cue. Numbers the server stopped refreshing are
greyed out and marked "(stale, N s old)": they are the last known values, not the current ones.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QProgressBar, QWidget

from app.ui.level_style import GREY, style_for
from app.ui.models import SourceView
from app.ui.present import fill_zone


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def _luminance(colour: QColor) -> float:
    """WCAG relative luminance, to pick readable text over a coloured chunk."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = channel(colour.redF()), channel(colour.greenF()), channel(colour.blueF())
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


_INKS = (QColor("#1e1e1e"), QColor("#ffffff"))


def _contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def ink_for(background: QColor) -> QColor:
    """Near-black or white, whichever contrasts more with ``background``."""
    return max(_INKS, key=lambda ink: _contrast(ink, background))


class FillBar(QProgressBar):
    """A ``QProgressBar`` (value, format and accessibility as usual) painted by hand, because styles
    ignore a palette's chunk colour: the chunk takes ``set_colour``'s colour, the text is the palette's
    text colour over the trough and a contrasting ink over the chunk. Disabled = stale: all grey."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colour: QColor | None = None  # None: the palette's highlight

    def set_colour(self, colour: QColor | None) -> None:
        if colour != self._colour:
            self._colour = colour
            self.update()

    def colour(self) -> QColor:
        """The chunk colour as painted now."""
        if not self.isEnabled():
            return GREY
        if self._colour is None:
            return self.palette().color(QPalette.ColorRole.Highlight)
        return self._colour

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        group = QPalette.ColorGroup.Active if self.isEnabled() else QPalette.ColorGroup.Disabled
        frame = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        outline = QPainterPath()
        outline.addRoundedRect(frame, 3.0, 3.0)
        painter.fillPath(outline, pal.color(group, QPalette.ColorRole.Base))
        span = self.maximum() - self.minimum()
        share = (self.value() - self.minimum()) / span if span > 0 else 0.0
        chunk = QRectF(frame.left(), frame.top(), frame.width() * max(0.0, min(1.0, share)), frame.height())
        colour = self.colour()
        painter.save()
        painter.setClipPath(outline)
        painter.fillRect(chunk, colour)
        painter.restore()
        painter.setPen(QPen(pal.color(group, QPalette.ColorRole.Mid), 1.0))
        painter.drawPath(outline)
        width = int(frame.width()) - 6
        text = painter.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, width)
        trough = QRectF(chunk.right(), frame.top(), frame.right() - chunk.right(), frame.height())
        for clip, pen in ((trough, pal.color(group, QPalette.ColorRole.Text)), (chunk, ink_for(colour))):
            painter.save()
            painter.setClipRect(clip)
            painter.setPen(pen)
            painter.drawText(frame, Qt.AlignmentFlag.AlignCenter, text)
            painter.restore()
        painter.end()


class SourcePanel(QGroupBox):
    """One source: a fill bar and the numbers behind the lamp."""

    def __init__(self, source: str, parent: QWidget | None = None) -> None:
        view = SourceView(source)
        super().__init__(view.title, parent)
        self.setObjectName(f"sourcePanel_{source}")
        self._view: SourceView | None = None
        self.fill_bar = FillBar()
        self.fill_bar.setRange(0, 100)
        self.fill_bar.setTextVisible(True)
        self.fill_bar.setAccessibleName(f"{view.title} server queue fill")
        self.backlog_label = QLabel()
        self.drops_label = QLabel()
        self.client_label = QLabel()
        form = QFormLayout(self)
        form.setContentsMargins(8, 6, 8, 6)
        form.addRow("Queue", self.fill_bar)
        form.addRow("Backlog", self.backlog_label)
        form.addRow("Server drops", self.drops_label)
        form.addRow("Client drops", self.client_label)
        self.set_view(view)

    def set_view(self, view: SourceView) -> None:
        if view == self._view:
            return
        self._view = view
        self.setEnabled(view.active)
        stale = view.fill_ratio is not None and not view.fresh
        if view.fill_ratio is None:
            self.fill_bar.setValue(0)
            self.fill_bar.setFormat("no data")
            self.fill_bar.set_colour(None)
        else:
            ratio = max(0.0, min(1.0, view.fill_ratio))
            pct = round(ratio * 100)
            self.fill_bar.setValue(pct)
            self.fill_bar.setFormat(f"{pct} % full" + (f" ({stale_note(view)})" if stale else ""))
            self.fill_bar.set_colour(style_for(fill_zone(ratio)).colour)
        # The server's numbers grey out when stale; the client's own drops are always current.
        for widget in (self.fill_bar, self.backlog_label, self.drops_label):
            widget.setEnabled(not stale)
        self.fill_bar.setToolTip(
            "No metrics from the backend lately: these are the last numbers it sent." if stale else ""
        )
        self.backlog_label.setText(_seconds(view.backlog_seconds))
        self.drops_label.setText(
            f"{view.dropped_recent_seconds:.1f} s recent · {view.dropped_total_seconds:.1f} s total"
        )
        self.client_label.setText(f"{view.client_dropped_seconds:.1f} s")
        self.setAccessibleDescription(
            f"{view.title}: queue {self.fill_bar.format()}, backlog {_seconds(view.backlog_seconds)}, "
            f"{self.drops_label.text()} dropped by the server"
        )

    def view(self) -> SourceView | None:
        return self._view

    def is_stale(self) -> bool:
        """Whether the panel shows old numbers (greyed out, marked stale)."""
        view = self._view
        return view is not None and view.fill_ratio is not None and not view.fresh


def stale_note(view: SourceView) -> str:
    return "stale" if view.age_seconds is None else f"stale, {view.age_seconds:.0f} s old"
