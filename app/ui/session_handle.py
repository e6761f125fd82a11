"""What the window's controller needs of a session (``SessionHandle``) and how it gets one
(``SessionFactory``). ``app.ui.session_adapter`` adapts ``app.session.Session`` to it; tests give
stand-ins. No Qt here: this is the seam between the window and the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.core.session_state import SessionEvent, SessionSnapshot

EventListener = Callable[[SessionEvent], None]


class SessionHandle(Protocol):
    """What the controller needs from a session (``app.ui.session_adapter`` adapts ``Session`` to it)."""

    def snapshot(self) -> SessionSnapshot: ...

    async def run(self) -> None:
        """Run until stopped or failed; raise ``EchoPanelError`` for a user-visible failure."""

    async def stop(self) -> None:
        """Flush, send stop, wait for the summary; return when the session has ended."""

    def set_throttling(self, enabled: bool) -> None: ...

    def add_tick_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` at the end of every session tick (the controller polls then)."""


SessionFactory = Callable[[EventListener], SessionHandle]
