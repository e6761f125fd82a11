"""The settings -> session seam (``app.ui.session_adapter``, no Qt): what a Start does before the
session runs, against real sockets where it connects."""

from __future__ import annotations

import threading
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
    session = AppSession(Settings(backend_url="ws://192.0.2.1:9"), lambda: TOKEN, events.append,
                         BuiltinBackend(), no_sources)
    with pytest.raises(ConfigError, match="Refusing to send the access token unencrypted"):
        await session.run()
    assert "Settings" in session.snapshot().error  # where to allow it, or switch to wss://


async def test_an_allowed_clear_text_backend_gets_a_warning_in_the_window() -> None:
    events: list[SessionEvent] = []
    url = "ws://192.0.2.1:9/ws/live-listener"
    session = AppSession(Settings(backend_url=url, insecure_token_url=url), lambda: TOKEN, events.append,
                         BuiltinBackend(), no_sources)
    with pytest.raises(ValueError, match="at least one audio source"):  # it got past the refusal
        await session.run()
    [warning] = [e for e in events if isinstance(e, SessionWarning)]
    assert "sent unencrypted to ws://192.0.2.1:9" in warning.message


async def test_the_token_is_read_off_the_ui_thread_at_each_start() -> None:
    """A keyring read is a D-Bus round trip: it must not run on the loop (the Qt main thread)."""
    from app.ui.session_adapter import session_factory

    readers: list[threading.Thread] = []

    def read_keyring() -> str:
        readers.append(threading.current_thread())
        return TOKEN

    factory = session_factory(lambda: Settings(backend_url="ws://127.0.0.1:9"), read_keyring,
                              BuiltinBackend(), no_sources)
    handle = factory(lambda event: None)
    assert readers == []  # pressing Start does not read it on the UI thread
    with pytest.raises(ValueError, match="at least one audio source"):
        await handle.run()
    assert len(readers) == 1 and readers[0] is not threading.main_thread()
