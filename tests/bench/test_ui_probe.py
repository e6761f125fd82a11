"""The ui benchmark's stall probe tells a loop that ran from a loop that waited for a CPU: on Linux it
reads the main thread's run-queue wait."""

from __future__ import annotations

import sys

import pytest

from app.bench.ui import run_queue_wait


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/<tid>/schedstat is Linux's")
def test_the_run_queue_wait_of_this_thread_is_read_and_never_goes_back() -> None:
    waited = run_queue_wait()
    assert waited is not None
    first = waited()
    sum(range(200_000))  # some work, so the scheduler may have made us wait
    assert 0.0 <= first <= waited()
