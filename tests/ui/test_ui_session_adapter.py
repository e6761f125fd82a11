"""The settings -> session seam (``app.ui.session_adapter``, no Qt): what a Start does before the
session runs, against real sockets where it connects."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.session_state import SessionEvent, SessionWarning
from app.core.settings import Settings
from app.errors import ConfigError
from app.ui.builtin import BuiltinBackend
from app.ui.session_adapter import AppSession

TOKEN = "tok-4b7a-not-for-the-network"


def no_sources(settings: Settings) -> list[Any]:
    return []  # the tests below end before any source is needed


async def test_a_start_that_would_send_the_token_in_clear_text_is_refused_with_a_message() -> None:
    events: list[SessionEvent] = []
    session = AppSession(Settings(backend_url="ws://192.0.2.1:9"), TOKEN, events.append, BuiltinBackend(),
                         no_sources)
    with pytest.raises(ConfigError, match="Refusing to send the access token unencrypted"):
        await session.run()
    assert "Settings" in session.snapshot().error  # where to allow it, or switch to wss://


async def test_an_allowed_clear_text_backend_gets_a_warning_in_the_window() -> None:
    events: list[SessionEvent] = []
    url = "ws://192.0.2.1:9/ws/live-listener"
    session = AppSession(Settings(backend_url=url, insecure_token_url=url), TOKEN, events.append,
                         BuiltinBackend(), no_sources)
    with pytest.raises(ValueError, match="at least one audio source"):  # it got past the refusal
        await session.run()
    [warning] = [e for e in events if isinstance(e, SessionWarning)]
    assert "sent unencrypted to ws://192.0.2.1:9" in warning.message
