"""The window's SIGINT/SIGTERM handler hands over to the event loop with ``call_soon_threadsafe``: it
may run in the middle of the loop's own bookkeeping, so it must touch nothing of the loop's itself.

A signal handler runs on the main thread between two bytecodes; calling it from another thread is the
portable way to make "not on the loop's turn" observable: a loop in debug mode raises on any
non-thread-safe call, and an Event set behind the loop's back would not wake it."""

from __future__ import annotations

import asyncio
import signal
import threading

from app.main import quit_on_signals


def test_signals_ask_to_quit_then_abort_on_the_loop_thread() -> None:
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    aborted: list[threading.Thread] = []
    errors: list[BaseException] = []

    async def scenario() -> None:
        quit_requested = asyncio.Event()
        handler = quit_on_signals(loop, quit_requested, lambda: aborted.append(threading.current_thread()))

        def signal_arrives() -> None:
            try:
                handler(signal.SIGINT, None)
            except BaseException as exc:
                errors.append(exc)

        for _ in range(2):
            thread = threading.Thread(target=signal_arrives)
            thread.start()
            thread.join()
            await asyncio.wait_for(quit_requested.wait(), 5.0)  # woken, not left asleep
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert errors == []
    assert aborted == [threading.main_thread()]  # the second signal aborts, on the loop's thread
