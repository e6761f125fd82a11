"""A bug in a consumer of server messages or session events must not be swallowed on every message:
logged once with its traceback, counted, and said to the user (as a warning) instead of silently
losing every message. A consumer bug cannot exist in correct code, so the tests inject one."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sessionkit import Peer, ScriptedServer

from app.core.endpoint import parse_endpoint
from app.core.messages import ClientFeatures, MetricsEvent, ServerEvent, StartMessage, UnrecognizedEvent
from app.core.session_state import SessionEvent, SessionWarning
from app.session.model import SessionModel
from app.transport.connection import LiveConnection, TransportConfig


async def twenty_metrics(peer: Peer) -> None:
    await peer.handshake()
    for n in range(20):
        await peer.send({"type": "metrics", "source": "mic", "queue_fill_ratio": 0.01, "dropped_total": n,
                         **peer.ids()})
    await peer.ws.close(1000)


async def test_a_callback_that_fails_on_every_message_is_logged_once_counted_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    received: list[ServerEvent] = []

    def broken_on_metrics(event: ServerEvent) -> None:  # the injected consumer bug
        received.append(event)
        if isinstance(event, MetricsEvent):
            raise KeyError("queue_fill")

    caplog.set_level(logging.DEBUG, logger="app.transport")
    async with ScriptedServer([twenty_metrics]) as server:
        start = StartMessage("s", "a", "c", ClientFeatures())
        config = TransportConfig(parse_endpoint(server.url))
        conn = await LiveConnection.open(config, start, broken_on_metrics)
        await asyncio.wait_for(conn.ended, 10)
    assert conn.consumer_failures == 20
    tracebacks = [r for r in caplog.records if r.exc_info and r.name == "app.transport.connection"]
    assert len(tracebacks) == 1 and "KeyError" in caplog.text
    counts = [r.getMessage() for r in caplog.records if "has failed to handle" in r.getMessage()]
    assert [c.split(" server messages")[0].rsplit(" ", 1)[-1] for c in counts] == ["2", "4", "8", "16"]
    reports = [e for e in received if isinstance(e, UnrecognizedEvent)]
    counted = [r.reason.split(" server message")[0].rsplit(" ", 1)[-1] for r in reports]
    assert counted == ["1", "2", "4", "8", "16"]
    assert "KeyError" in reports[0].reason and "lost" in reports[0].reason


def test_a_listener_that_fails_on_every_event_is_logged_once_and_the_others_are_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = SessionModel("s", time.monotonic)
    seen: list[SessionEvent] = []

    def broken(event: SessionEvent) -> None:  # the injected consumer bug
        raise ValueError("bad field")

    model.listeners[:] = [broken, seen.append]
    caplog.set_level(logging.DEBUG, logger="app.session")
    for _ in range(10):
        model.warn("something")
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "ValueError: bad field" in caplog.text
    failures = [e.message for e in seen if isinstance(e, SessionWarning) and "Internal error" in e.message]
    assert failures and "consumer of session events failed 1 time" in failures[0]
    assert "events are lost" in failures[0].replace("those events", "events")
    assert any("Internal error" in w for w in model.snapshot({}, "").warnings)  # the window polls this
