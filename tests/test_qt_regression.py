"""Regression guard for the PySide6 pin (pyproject.toml: PySide6-Essentials==6.11.3).

PySide6 6.12.0 loses one reference to ``None`` on every ``QObject.killTimer()``. qasync kills a Qt
timer for every asyncio timer (``call_soon``, ``call_later``, ``asyncio.sleep``), so ``None``'s
reference count falls by one per callback until CPython deallocates ``None`` and aborts
("Fatal Python error: none_dealloc"): the app dies after a few minutes of streaming.

The probe runs in a subprocess so that an abort fails the test instead of killing pytest. It runs
many thousands of asyncio timers on a qasync loop over an offscreen QApplication and reports
``sys.getrefcount(None)`` before and after. On Python >= 3.12 ``None`` is immortal, its count never
moves and the defect cannot abort; the version pin test still holds the line there.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PINNED = "6.11.3"
TIMERS = 20_000

PROBE = r"""
import asyncio, ctypes, gc, json, os, sys
os.environ["QT_API"] = "pyside6"  # before qasync: it would pick another binding if one were installed
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication
import qasync

timers, simulate_leak = int(sys.argv[1]), sys.argv[2] == "leak"
kills = 0
original_kill = QObject.killTimer

def counting_kill(self, timer_id):
    global kills
    kills += 1
    original_kill(self, timer_id)
    # Reproduce the 6.12.0 defect, only to prove this probe notices it (never down to an abort).
    if simulate_leak and sys.getrefcount(None) > 1000:
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(None))

qasync._SimpleTimer.killTimer = counting_kill
app = QApplication([])
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)

async def burst(n):
    done = loop.create_future()
    left = [n]
    def tick():
        left[0] -= 1
        if left[0] == 0:
            done.set_result(None)
    for i in range(n):
        loop.call_later(0.0001 * (i % 3), tick)
    await done

async def main():
    await burst(200)  # warm-up: first-use allocations must not count
    for _ in range(20):
        await asyncio.sleep(0.0001)
    gc.collect()
    before, kills_before = sys.getrefcount(None), kills
    for _ in range(timers // 1000):
        await burst(1000)
    for _ in range(200):
        await asyncio.sleep(0.0001)
    gc.collect()
    return before, sys.getrefcount(None), kills - kills_before

with loop:
    before, after, killed = loop.run_until_complete(main())
print(json.dumps({"before": before, "after": after, "kill_timer_calls": killed}), flush=True)
if simulate_leak:  # give the references back so the simulated run exits cleanly
    for _ in range(before - after):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
"""


def run_probe(timers: int, mode: str) -> dict[str, Any]:
    env = dict(os.environ, QT_API="pyside6", QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(timers), mode], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=180, check=False,
    )
    assert proc.returncode == 0, (
        f"the qasync timer probe died with exit code {proc.returncode} after scheduling up to {timers} "
        f"asyncio timers (a PySide6 build that leaks None in killTimer aborts like this):\n"
        f"{proc.stderr[-2000:]}"
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_many_asyncio_timers_on_qasync_do_not_leak_none() -> None:
    result = run_probe(TIMERS, "real")
    assert result["kill_timer_calls"] >= TIMERS, result  # the probe really went through killTimer
    drop = result["before"] - result["after"]
    assert drop < TIMERS // 20, (
        f"sys.getrefcount(None) fell by {drop} over {result['kill_timer_calls']} Qt timer kills: this "
        f"PySide6 loses a reference to None per QObject.killTimer() (the 6.12.0 defect); the app would "
        f"abort. Keep PySide6-Essentials=={PINNED}."
    )


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12: no count to lose")
def test_probe_detects_a_leaking_kill_timer() -> None:
    # The guard above must be able to fail: with the defect simulated, the drop is one per kill.
    result = run_probe(2_000, "leak")
    drop = result["before"] - result["after"]
    assert drop >= result["kill_timer_calls"] >= 2_000, result


def test_pyside6_is_the_pinned_version() -> None:
    installed = importlib.metadata.version("PySide6-Essentials")
    assert installed == PINNED, (
        f"PySide6-Essentials {installed} is installed but {PINNED} is pinned: PySide6 6.12.0 loses a "
        f"reference to None on every QObject.killTimer(), and qasync calls it for every asyncio timer, so "
        f"the app aborts after a few thousand timers. Reinstall with `packaging/dev.sh test` (pip install "
        f"-e .[dev]); move the pin only to a release that passes "
        f"test_many_asyncio_timers_on_qasync_do_not_leak_none."
    )
    assert importlib.metadata.version("shiboken6") == PINNED, "shiboken6 must match PySide6"
