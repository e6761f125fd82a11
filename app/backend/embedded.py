"""``EmbeddedBackend``: the reference backend on its own thread and event loop.

For synchronous tests (in the test's own process, so they can inject a recognizer). The app runs its
built-in backend as a child process instead (``app.backend.process``), so that the recognizer never
holds the app's interpreter lock. Everything the backend does runs on that thread's loop; the caller's
thread only starts and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from app.backend.config import BackendConfig
from app.backend.recognizers import Recognizer
from app.backend.server import ReferenceBackend


class EmbeddedBackend:
    """A ``ReferenceBackend`` on its own thread and loop. ``start()`` returns once it is listening.

    It can be started again after ``stop()`` (a fresh backend each time; an injected ``recognizer``
    is only good for one run, since stopping releases it).
    """

    def __init__(self, config: BackendConfig, *, recognizer: Recognizer | None = None) -> None:
        self.config = config
        self._recognizer = recognizer
        self._backend = ReferenceBackend(config, recognizer=recognizer)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        return self._backend.port

    @property
    def ws_url(self) -> str:
        return self._backend.ws_url

    @property
    def http_url(self) -> str:
        return self._backend.http_url

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 30.0) -> None:
        """Start the thread and wait until the backend listens; re-raises a startup failure."""
        if self.running:
            return
        if self._thread is not None or self._error is not None:  # a previous run: start afresh
            self._backend = ReferenceBackend(self.config, recognizer=self._recognizer)
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._main, name="echopanel-backend", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the embedded backend did not start within {timeout:g} s")
        if self._error is not None:
            self._thread.join(timeout)  # the loop is already winding down
            raise self._error

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the backend and join its thread. Idempotent."""
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may have just finished
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self._backend.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._backend.stop()
