"""What the transcript pane's tests share: segments as a session reports them, and a shown pane."""

from __future__ import annotations

from app.core.session_state import TranscriptSegment
from app.ui.transcript import TranscriptPane


def final(text: str, t0: float, source: str = "mic") -> TranscriptSegment:
    return TranscriptSegment(source, text, t0, t0 + 1.5, True)


def partial(text: str, t0: float, source: str = "mic") -> TranscriptSegment:
    return TranscriptSegment(source, text, t0, t0 + 1.0, False)


def shown_pane(qtbot) -> TranscriptPane:  # type: ignore[no-untyped-def]
    """A 500 x 200 pane on screen (offscreen), owned by qtbot."""
    widget = TranscriptPane()
    qtbot.addWidget(widget)
    widget.resize(500, 200)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
