"""The reference backend (CONTRACT.md section 9): a faithful EchoPanel live-listener for development,
demos, tests and benchmarks, with a recognizer whose speed is a knob.

    from app.backend import BackendConfig, ReferenceBackend, EmbeddedBackend, parse_schedule

Modules, by concern: config (settings, schedule), server (websockets + /health + model loading),
connection (auth, handshake, capacity), live_session (streaming, stop, summary), inbound (client
payloads), outbound (server messages), queues (byte-capped drop-oldest queues + warning flag, pure),
worker (pulls audio at the recognizer's pace), recognizers / sphinx / segmenter (speech to text),
analysis (entities, cards, summary), recording (WAVs of received and processed audio), runtime.
"""

from app.backend.config import BackendConfig, parse_schedule
from app.backend.server import EmbeddedBackend, ReferenceBackend

__all__ = ["BackendConfig", "EmbeddedBackend", "ReferenceBackend", "parse_schedule"]
