"""Suite-wide: no test writes the developer's own meeting history. Every process the tests start
(the app, headless runs) inherits a data folder of this run's own (``app.datadir``)."""

from __future__ import annotations

import os
import shutil
import tempfile

_DATA_DIR = tempfile.mkdtemp(prefix="echopanel-test-data-")
os.environ["ECHOPANEL_DATA_DIR"] = _DATA_DIR


def pytest_unconfigure(config: object) -> None:
    shutil.rmtree(_DATA_DIR, ignore_errors=True)
