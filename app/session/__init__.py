"""One streaming session, on the asyncio event-loop thread, with no Qt: capture -> adaptive throttling ->
bounded client buffers -> paced sends over the transport, reconnects, the stop sequence, and what the
session publishes (snapshots and events).

Owns: ``lifecycle`` (``Session``: the run, the tick, the end), ``connections`` (one connection after
another: open, stream, hand over, back off, reconnect; the current connection's view), ``readiness``
(``/health`` with retries before streaming), ``stopping`` (the flush, ``stop`` and the summary wait),
``intake`` (sources -> throttling -> per-source buffers, the backlog bound), ``pipeline`` (per-source
pipes and the sender), ``ticker`` (the session's cadence), ``model`` (server state, transcript, level,
events), ``config`` (``SessionConfig``), ``waits`` (asyncio helpers).

May import: ``app.core``, ``app.errors``, ``app.capture`` (the ``AudioSource`` seam only) and
``app.transport``. Never Qt, never ``app.ui``, ``app.headless`` or ``app.backend``.
"""

from app.session.config import DEFAULT_TICK_SECONDS, SessionConfig
from app.session.lifecycle import Session

__all__ = ["DEFAULT_TICK_SECONDS", "Session", "SessionConfig"]
