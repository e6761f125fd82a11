"""Fixtures for the reference backend tests: backends on loopback port 0, cleaned up after each test."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # backend_wsclient, whatever pytest's import mode

from app.backend import BackendConfig, ReferenceBackend
from app.backend.recognizers import Recognizer

# Fast defaults: a simulated recognizer 50x faster than real time, so tests can send at 10x.
TEST_DEFAULTS: dict[str, Any] = {"port": 0, "recognizer": "simulated", "rtf": 0.02}

BackendFactory = Callable[..., Awaitable[ReferenceBackend]]


@pytest.fixture
async def make_backend() -> AsyncIterator[BackendFactory]:
    started: list[ReferenceBackend] = []

    async def factory(recognizer_impl: Recognizer | None = None, **overrides: Any) -> ReferenceBackend:
        config = BackendConfig(**{**TEST_DEFAULTS, **overrides})
        backend = ReferenceBackend(config, recognizer=recognizer_impl)
        await backend.start()
        started.append(backend)
        return backend

    yield factory
    for backend in started:
        await backend.stop()


@pytest.fixture
async def backend(make_backend: BackendFactory) -> ReferenceBackend:
    return await make_backend()
