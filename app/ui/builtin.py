"""The built-in backend: the reference backend in its own child process
(``app.backend.BackendProcess``: a free loopback port, a random token, gone when the app goes),
started on the first Start that needs it, started again if it died, and stopped at shutdown.

``ensure_started()`` blocks until the backend listens (the model keeps loading in the background;
the session's health check waits for it), so callers run it in an executor, never on the UI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from app.backend.process import BackendProcess

log = logging.getLogger(__name__)


class BuiltinBackend:
    def __init__(self, recognizer: str = "pocketsphinx", extra_args: Sequence[str] = ()) -> None:
        self._recognizer = recognizer
        self._extra = tuple(extra_args)  # benchmarks: an overload schedule
        self._backend: BackendProcess | None = None
        self._lock = threading.Lock()  # ensure_started runs in an executor thread

    def ensure_started(self) -> tuple[str, str]:
        """Start the backend if it is not running; return its WebSocket URL and token."""
        with self._lock:
            if self._backend is None or not self._backend.running:
                if self._backend is not None:
                    log.warning("the built-in backend process had exited; starting it again")
                    self._backend.stop()
                backend = BackendProcess(self._recognizer, extra_args=self._extra)
                self._backend = None
                backend.start()
                self._backend = backend
            return self._backend.ws_url, self._backend.token

    @property
    def running(self) -> bool:
        return self._backend is not None and self._backend.running

    def stop(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.stop()
