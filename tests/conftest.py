"""Suite-wide: no test writes the developer's own meeting history. Every process the tests start
(the app, headless runs) inherits a data folder of this run's own (``app.datadir``)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_DATA_DIR = tempfile.mkdtemp(prefix="echopanel-test-data-")
os.environ["ECHOPANEL_DATA_DIR"] = _DATA_DIR


def pytest_unconfigure(config: object) -> None:
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the marks into its groups
def pytest_collection_modifyitems(config: object, items: list) -> None:  # type: ignore[type-arg]
    """With pytest-xdist (``-n``): the tests that play into the shared virtual PulseAudio sinks run
    one after another on one worker (``--dist loadgroup``), so no two meetings mix their audio; so do
    the tests that start their own Xvfb (they pick the first free display number, which two workers
    could pick at once); the packaging tests share the audio tests' worker (one bundle build)."""
    for item in items:
        # the packaging tests build and share one bundle (build/bundle-smoke; two workers building it
        # at once corrupt it), and one of them plays into the sinks: one group with the audio tests
        if item.path.parent.name == "packaging" or item.get_closest_marker("audio") is not None:
            item.add_marker(pytest.mark.xdist_group("audio"))
        elif "xvfb" in item.path.name:
            item.add_marker(pytest.mark.xdist_group("x11"))
