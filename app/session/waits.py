"""Small asyncio helpers the session waits with: the first of several things, a bounded wait, a
wait that a stop request cuts short, and a best-effort step that logs what it swallows. Event-loop
thread only; none of them cancels a task it was given (a send in progress must never be cancelled
midway), only the helper tasks it made itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


@contextlib.contextmanager
def best_effort(what: str) -> Iterator[None]:
    """Run a clean-up step whose failure must not hide the session's outcome, but never silently:
    an exception is logged with its traceback and swallowed."""
    try:
        yield
    except Exception:
        log.warning("%s failed; carrying on with the shutdown", what, exc_info=True)


async def first(*aws: Any, timeout: float | None = None) -> None:
    """Wait until the first of these futures/coroutines is done (or the timeout); cancel the helpers."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t, a in zip(tasks, aws, strict=True):
            if t is not a and not t.done():
                t.cancel()


async def within(aw: Any, timeout: float) -> bool:
    """Whether ``aw`` finished within ``timeout``; a coroutine that did not is cancelled, a task is
    left running."""
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done and task is not aw:
        task.cancel()
    return bool(done)


async def unless_set(stop: asyncio.Event, coro: Coroutine[Any, Any, T]) -> T | None:
    """``coro``'s result, or ``None`` (the coroutine cancelled) if ``stop`` is set first."""
    task = asyncio.ensure_future(coro)
    await first(task, stop.wait())
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None
    return task.result()
