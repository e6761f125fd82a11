"""What the window does at every tick while someone speaks: the input meters change, and that must
repaint the meters alone, never lay the window out again (which cost more than the painting)."""

from __future__ import annotations

import collections

from PySide6.QtCore import QEvent, QObject

from app.ui.input_meters import SILENCE_DBFS, level_text
from app.ui.window import MainWindow


class EventCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.counts: collections.Counter[tuple[str, int]] = collections.Counter()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.Paint):
            self.counts[(type(watched).__name__, int(event.type().value))] += 1
        return False

    def total(self, kind: QEvent.Type) -> int:
        return sum(n for (_, k), n in self.counts.items() if k == int(kind.value))


def test_changing_input_levels_never_lays_the_window_out(qtbot, qapp):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.set_inputs((("system", -30.0), ("mic", -30.0)))  # the first levels of the session
    qtbot.wait(50)
    counter = EventCounter()
    qapp.installEventFilter(counter)
    try:
        for tick in range(60):  # every text the value can show, and the bars moving
            dbfs = -60.0 + tick
            window.set_inputs((("system", dbfs), ("mic", None if tick % 7 == 0 else -dbfs - 60.0)))
            qapp.processEvents()
    finally:
        qapp.removeEventFilter(counter)
    assert counter.total(QEvent.Type.LayoutRequest) == 0, counter.counts
    assert counter.total(QEvent.Type.Paint) > 0  # the meters did repaint
    assert window.input_meters.meters["system"].value.text() == level_text(-1.0)
    assert level_text(SILENCE_DBFS) == "silent"
