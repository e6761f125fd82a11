"""The reference backend (CONTRACT.md sections 9-10): the real EchoPanel live-listener's behaviour, for
development, demos, tests and benchmarks, with a recognizer whose speed is a knob.

    from app.backend import BackendConfig, ReferenceBackend, EmbeddedBackend, BackendProcess, parse_schedule

By default (``fidelity="faithful"``) it behaves like the real server under load: chunked consumption,
the degrade ladder, the real warning statuses and metrics. ``fidelity="ideal"`` keeps the earlier,
idealised backend for tests that need it.

Modules, by concern: config (settings, schedule), server (websockets + /health + model loading +
shutdown), embedded (its own thread, for tests), process (the built-in backend as the app's child
process: how the app runs it), connection (auth, handshake, capacity, start timeout),
live_session (streaming, analysis cadence, stop, summary), faithful / ideal (a session's audio path
per fidelity), inbound (client payloads), outbound (server messages), queues (byte-capped drop-oldest
queues + the warning flag, pure), chunking (chunked consumption, pure), consumer (chunked consumption
on asyncio, per-source or shared recognizer), ladder (degrade ladder, pure), rtf (between-finals
real-time factor, pure), worker (ideal mode's 100 ms pulls), recognizers / sphinx / segmenter (speech
to text), analysis (entities, cards, summary), recording (WAVs + provenance of received and processed
audio), logsafety (tokens never logged), runtime.

Importing the package loads none of them: the names above are resolved when first used. The app's
window imports ``app.backend.process`` only (to start the built-in backend as a child process) and
must not pay for the server, websockets and numpy before its first window is on screen.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.backend.config import BackendConfig, parse_schedule
    from app.backend.embedded import EmbeddedBackend
    from app.backend.process import BackendProcess, BackendStartError
    from app.backend.server import ReferenceBackend

_EXPORTS = {
    "BackendConfig": "app.backend.config", "parse_schedule": "app.backend.config",
    "EmbeddedBackend": "app.backend.embedded",
    "BackendProcess": "app.backend.process", "BackendStartError": "app.backend.process",
    "ReferenceBackend": "app.backend.server",
}
__all__ = ["BackendConfig", "BackendProcess", "BackendStartError", "EmbeddedBackend", "ReferenceBackend",
           "parse_schedule"]


def __getattr__(name: str) -> Any:
    """``from app.backend import ReferenceBackend`` imports ``app.backend.server`` at that moment."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
