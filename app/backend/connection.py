"""One websocket connection up to the start ack: auth, greeting, ``start`` validation, capacity.

Contract (CONTRACT.md sections 1-2): an unauthorized client is ACCEPTED, told
``status/error "Unauthorized websocket connection"`` and closed with 1008. Everyone else gets
``status/connected``; audio before ``start`` is ignored (one warning); a bad ``start`` gets
``{"type":"error"}`` and a close; a full server makes the newcomer wait up to 5 s for a slot, then
answers ``status/error "Server at capacity..."`` and closes. Then ``LiveSession`` takes over.
A misbehaving client never produces a traceback: it gets an error message and a clean close.

A connection that sends no valid ``start`` within ``start_timeout`` (10 s) gets
``{"type":"error","message":"No start message within 10 s: closing the connection"}`` and a close
with 1000, like any other failed start (the real server would keep such a socket open forever).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed

from app.backend import outbound
from app.backend.inbound import Audio, Fatal, Ignored, classify
from app.backend.live_session import CLOSE_NORMAL, LiveSession
from app.backend.runtime import BackendRuntime
from app.core.messages import StartMessage

log = logging.getLogger(__name__)
CLOSE_POLICY_VIOLATION = 1008


def authorized(headers: Headers | Mapping[str, str], token: str) -> bool:
    """True if no token is required, or ``Authorization: Bearer`` or ``x-echopanel-token`` carries it."""
    if not token:
        return True
    expected = token.encode("utf-8", "surrogateescape")
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    candidates = [value.strip()] if scheme.lower() == "bearer" else []
    candidates.append((headers.get("x-echopanel-token") or "").strip())
    return any(hmac.compare_digest(c.encode("utf-8", "surrogateescape"), expected) for c in candidates)


async def handle_connection(ws: ServerConnection, runtime: BackendRuntime) -> None:
    """The websockets handler for ``/ws/live-listener``."""
    peer = ws.remote_address
    try:
        if not authorized(ws.request.headers if ws.request else Headers(), runtime.config.token):
            log.info("unauthorized websocket from %s", peer)
            await _send(ws, outbound.UNAUTHORIZED)
            await ws.close(CLOSE_POLICY_VIOLATION)  # no reason text, as the real server
            return
        await _send(ws, outbound.CONNECTED)
        start = await _await_start_in_time(ws, runtime.config.queue_bytes_max, runtime.config.start_timeout)
        if start is None:
            return
        if not await runtime.capacity.acquire(runtime.config.capacity_wait_seconds):
            log.info("session %s refused: at capacity", start.session_id)
            ids = {"session_id": start.session_id, "attempt_id": start.attempt_id,
                   "connection_id": start.connection_id}
            await _send(ws, {**outbound.AT_CAPACITY, **ids})  # after start: ids on every message
            await ws.close(CLOSE_NORMAL)
            return
        try:
            log.info("session %s started (connection %s, %s)", start.session_id, start.connection_id, peer)
            await LiveSession(ws, runtime, start).run()
        finally:
            runtime.capacity.release()
            log.info("session %s connection ended", start.session_id)
    except ConnectionClosed:
        pass  # the client went away; its session's tasks were cleaned up on the way out
    except Exception as exc:  # a bug must not take the server down or spill a traceback on its console
        log.error("connection from %s failed: %r", peer, exc)
        log.debug("connection failure details", exc_info=True)


async def _await_start_in_time(ws: ServerConnection, max_audio_bytes: int,
                               timeout: float) -> StartMessage | None:
    """``_await_start`` bounded by ``timeout``: then an error and a close."""
    try:
        async with asyncio.timeout(timeout):
            return await _await_start(ws, max_audio_bytes)
    except TimeoutError:
        log.info("connection from %s sent no start within %g s", ws.remote_address, timeout)
        await _send(ws, outbound.error(f"No start message within {timeout:g} s: closing the connection"))
        await ws.close(CLOSE_NORMAL)
        return None


async def _await_start(ws: ServerConnection, max_audio_bytes: int) -> StartMessage | None:
    """Read until a valid ``start``; None if the connection ended or was closed for bad input."""
    warned_audio = False
    async for payload in ws:
        item = classify(payload, max_audio_bytes)
        if isinstance(item, StartMessage):
            return item
        if isinstance(item, Audio):
            if not warned_audio:
                warned_audio = True
                await _send(ws, outbound.status("warning", "Audio before start is ignored; send start first"))
        elif isinstance(item, Ignored):
            await _send(ws, outbound.status("warning", item.reason))
        else:
            message = item.message if isinstance(item, Fatal) else "Received stop before start"
            log.info("rejected before start: %s", message)
            await _send(ws, outbound.error(message))
            await ws.close(CLOSE_NORMAL)
            return None
    return None


async def _send(ws: ServerConnection, body: dict[str, Any]) -> None:
    await ws.send(json.dumps(body))
