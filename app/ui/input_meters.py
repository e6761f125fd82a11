"""Per-source input level meters (microphone, system audio): is each device actually hearing anything?

Takes ``(source, dBFS | None)`` pairs (``app.ui.present.input_levels``); ``None`` = not capturing
(no session, or the source not chosen): the meter is empty and says so. The bar spans -60..0 dBFS;
below ``SILENCE_DBFS`` it says "silent" in words, so colour is never the only cue. Colours come from
the palette (the bar is the palette's highlight), so both themes read.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from app.core.status import StatusConfig

FLOOR_DBFS = -60.0
SILENCE_DBFS = StatusConfig().silence_dbfs
TITLES = {"system": "System audio", "mic": "Microphone"}


def level_text(dbfs: float | None) -> str:
    if dbfs is None:
        return "off"
    return "silent" if dbfs <= SILENCE_DBFS else f"{dbfs:.0f} dB"


class LevelBar(QWidget):
    """A thin horizontal bar: the share of -60..0 dBFS, or empty when off."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._share = 0.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_share(self, share: float) -> None:
        share = max(0.0, min(1.0, share))
        if share != self._share:
            self._share = share
            self.update()

    def share(self) -> float:
        return self._share

    def sizeHint(self) -> QSize:
        return QSize(120, max(8, self.fontMetrics().height() // 2))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        frame = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1.0))
        painter.setBrush(pal.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(frame, 2.0, 2.0)
        if self._share > 0:
            chunk = QRectF(frame.left(), frame.top(), frame.width() * self._share, frame.height())
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(pal.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(chunk, 2.0, 2.0)
        painter.end()


class InputMeter(QWidget):
    """One source: its name, a level bar and the level in words."""

    def __init__(self, source: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.setObjectName(f"inputMeter_{source}")
        self.title = QLabel(TITLES.get(source, source))
        self.bar = LevelBar()
        self.value = QLabel()
        # A fixed size (room for the longest text): the level changes at every tick while someone
        # speaks, and a label whose size may change asks its window to lay itself out again each
        # time, which cost more than painting the meters.
        self.value.setFixedSize(
            self.value.fontMetrics().horizontalAdvance("silent -60 dB"), self.value.sizeHint().height()
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.value)
        self._dbfs: float | None = None
        self.set_level(None)

    def set_level(self, dbfs: float | None) -> None:
        self._dbfs = dbfs
        self.bar.set_share(0.0 if dbfs is None else (dbfs - FLOOR_DBFS) / -FLOOR_DBFS)
        self.value.setText(level_text(dbfs))
        self.setEnabled(dbfs is not None)
        self.setAccessibleName(f"{self.title.text()} input level: {level_text(dbfs)}")

    def level(self) -> float | None:
        return self._dbfs


class InputMeters(QWidget):
    """Both sources side by side. ``set_levels(((source, dBFS | None), ...))``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputMeters")
        self.meters = {source: InputMeter(source) for source in ("mic", "system")}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for meter in self.meters.values():
            layout.addWidget(meter, 1)

    def set_levels(self, levels: Sequence[tuple[str, float | None]]) -> None:
        for source, dbfs in levels:
            meter = self.meters.get(source)
            if meter is not None:
                meter.set_level(dbfs)
