"""The qasync loop the Qt tests run on the pytest-qt ``QApplication``: opened "already running" (so
``qtbot.waitUntil`` also runs asyncio callbacks) and closed again after each test, on the Qt main
thread. ``tests/ui/test_qloop_teardown.py`` checks that closing it leaves Qt nothing that points at
freed memory.
"""

from __future__ import annotations

import asyncio
import time

import qasync
import shiboken6
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def open_qloop(qapp: QApplication) -> qasync.QEventLoop:
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    return loop


def close_qloop(loop: qasync.QEventLoop, qapp: QApplication, drain_s: float = 5.0) -> None:
    # Let what the test left running (a refresh the teardown's abort spawned, ...) see its
    # cancellation and end, rather than be destroyed pending with its timers still set.
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    deadline = time.monotonic() + drain_s
    while not all(task.done() for task in tasks) and time.monotonic() < deadline:
        QTest.qWait(10)
    # Leave "already running" mode by hand: loop.stop() would call QApplication.exit(), which makes
    # every later Qt event loop in this process return at once. (Private qasync attribute.)
    loop._QEventLoop__is_running = False
    asyncio.events._set_running_loop(None)
    qapp.aboutToQuit.disconnect(loop._after_run_forever)
    loop.close()
    asyncio.set_event_loop(None)
    # The loop's QObjects must die here, on the Qt main thread. The loop sits in reference cycles,
    # so otherwise the cyclic GC frees it later on whichever thread crosses the GC threshold (the
    # reference backend's, the history writer's, an executor's). Qt cannot unregister a QObject's
    # timers from another thread ("QObject::~QObject: Timers cannot be stopped from another
    # thread"): the qasync timer object's pending timers stay registered with the main thread's
    # dispatcher, and the next one to fire is delivered to freed memory, a segfault in a later
    # test's qtbot.waitUntil. (Private qasync attributes.)
    shiboken6.delete(loop._timer)
    shiboken6.delete(loop._QEventLoop__call_soon_signaller)
