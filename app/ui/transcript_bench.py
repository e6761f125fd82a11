"""The Qt side of ``python -m app.bench transcript`` (app/bench/transcript.py), kept here because app/ui
is the only package that imports Qt: the real ``TranscriptPane`` offscreen, fed as a session feeds it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.core.session_state import TranscriptSegment


@dataclass(slots=True)
class PaneRun:
    before: int = 0  # what ``measure`` said before the first line and after the last
    after: int = 0
    final_ms: list[float] = field(default_factory=list)  # per final: applied and repainted
    partial_ms: list[float] = field(default_factory=list)  # per partial replaced in place at the end


def feed_pane(finals: Sequence[TranscriptSegment], partials: Sequence[TranscriptSegment],
              grown: Sequence[TranscriptSegment], measure: Callable[[], int]) -> PaneRun:
    """Show the pane (700 x 400), then at step i the first i finals plus ``partials[i]``, events
    processed after each step; then every ``grown`` partial after all the finals. ``measure`` (an RSS
    reading) runs before the first step (after a warm-up of 50 lines, cleared) and after the last."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.ui.transcript import TranscriptPane

    app = QApplication.instance() or QApplication([])
    pane = TranscriptPane()
    pane.resize(700, 400)
    pane.show()
    pane.set_segments(finals[:50])
    app.processEvents()
    pane.clear()
    app.processEvents()
    run = PaneRun(before=measure())
    for step in range(1, len(finals) + 1):
        started = time.perf_counter()
        pane.set_segments([*finals[:step], partials[step]])
        app.processEvents()
        run.final_ms.append((time.perf_counter() - started) * 1000)
    for segment in grown:
        started = time.perf_counter()
        pane.set_segments([*finals, segment])
        app.processEvents()
        run.partial_ms.append((time.perf_counter() - started) * 1000)
    run.after = measure()
    pane.close()
    return run
