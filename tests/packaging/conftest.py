"""Fixtures for the packaging tests: the frozen bundle (bundlekit.py builds it once per source state)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS_DIR = str(Path(__file__).resolve().parents[1])
if TESTS_DIR not in sys.path:  # tests/ has no __init__.py; this makes tests/audio_env.py importable
    sys.path.insert(0, TESTS_DIR)

from bundlekit import NAME, built_bundle  # noqa: E402


@pytest.fixture(scope="session")
def bundle_dir() -> Path:
    return built_bundle()


@pytest.fixture(scope="session")
def frozen_exe(bundle_dir: Path) -> Path:
    return bundle_dir / NAME
