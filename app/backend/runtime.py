"""State shared by all connections of one backend: config, recognizer, model readiness, capacity.

Everything here lives on the backend's event loop; only ``ModelState`` is updated from the loading
thread, through the loop (``call_soon_threadsafe`` in server.py).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.backend.config import BackendConfig
from app.backend.recognizers import Recognizer


class ModelStatus(enum.StrEnum):
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class ModelState:
    """Whether the recognizer's model is usable yet; connections wait on it before acking ``start``."""

    def __init__(self, reason: str) -> None:
        self.status = ModelStatus.LOADING
        self.reason = reason
        self._settled = asyncio.Event()

    def set_ready(self) -> None:
        self.status, self.reason = ModelStatus.READY, ""
        self._settled.set()

    def set_failed(self, reason: str) -> None:
        self.status, self.reason = ModelStatus.FAILED, reason
        self._settled.set()

    async def wait(self, timeout: float) -> ModelStatus:
        """The status once loading settles, or LOADING if it has not after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await self._settled.wait()
        except TimeoutError:
            pass
        return self.status


class Capacity:
    """At most ``limit`` streaming sessions; a newcomer waits a bounded time for a slot."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.waiting = 0  # starts waiting for a slot right now
        self._slots = asyncio.Semaphore(limit)

    async def acquire(self, timeout: float) -> bool:
        self.waiting += 1
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
        self.active += 1
        return True

    def release(self) -> None:
        self.active -= 1
        self._slots.release()


@dataclass
class BackendRuntime:
    config: BackendConfig
    recognizer: Recognizer
    model: ModelState
    capacity: Capacity
    clock: Callable[[], float] = field(default=time.monotonic)
