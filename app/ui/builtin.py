"""The built-in backend: the reference backend (``app.backend.EmbeddedBackend``) running in its own
thread, started on the first Start that needs it and stopped at shutdown.

``ensure_started()`` blocks until the backend listens (the model keeps loading in the background;
the session's health check waits for it), so callers run it in an executor, never on the UI thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class BuiltinBackend:
    def __init__(self, recognizer: str = "pocketsphinx") -> None:
        self._recognizer = recognizer
        self._backend: Any = None
        self._lock = threading.Lock()  # ensure_started runs in an executor thread

    def ensure_started(self) -> str:
        """Start the backend if needed; return its WebSocket URL."""
        with self._lock:
            if self._backend is None:
                from app.backend import BackendConfig, EmbeddedBackend  # heavy (pocketsphinx): only when used

                backend = EmbeddedBackend(
                    BackendConfig(host="127.0.0.1", port=0, recognizer=self._recognizer)
                )
                backend.start()
                log.info("built-in backend listening at %s", backend.ws_url)
                self._backend = backend
            url: str = self._backend.ws_url
            return url

    @property
    def running(self) -> bool:
        return self._backend is not None

    def stop(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.stop()
            log.info("built-in backend stopped")
