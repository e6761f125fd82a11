"""The Qt tests' qasync loop (``qasync_loop.close_qloop``, the ``qloop`` fixture's teardown) leaves
Qt nothing that points at freed memory, whichever thread the garbage collector later frees the loop
on. It used to leave the loop's timer object to the GC: freed on the reference backend's or the
history writer's thread, its pending Qt timers stayed registered and the next one segfaulted a
later test inside ``qtbot.waitUntil``.

The probe runs in a subprocess so that a segfault fails this test instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

PROBE = r"""
import asyncio, gc, os, sys, threading
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["QT_API"] = "pyside6"
sys.path.insert(0, sys.argv[1])
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
from qasync_loop import close_qloop, open_qloop

app = QApplication([])
gc.disable()  # the collection below is the only one, and it runs on another thread
for _ in range(3):
    loop = open_qloop(app)
    loop.call_later(0.2, lambda: None)  # a timer nothing cancels: still registered with Qt at close
    task = loop.create_task(asyncio.sleep(30))  # a task the test left pending
    close_qloop(loop, app)
    del loop, task
collector = threading.Thread(target=gc.collect)
collector.start()
collector.join()
spin = QEventLoop()
QTimer.singleShot(600, spin.quit)  # long enough for every timer the loops had set to come due
spin.exec()
print("survived", flush=True)
"""


def test_a_closed_loop_freed_on_another_thread_leaves_no_live_qt_timer() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    probe = subprocess.run([sys.executable, "-c", PROBE, str(HERE)], capture_output=True, text=True,
                           timeout=60, env=env)
    assert probe.returncode == 0, f"rc {probe.returncode}: {probe.stderr[-2000:]}"
    assert "survived" in probe.stdout
