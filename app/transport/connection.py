"""The WebSocket connection to an EchoPanel backend: one ``LiveConnection`` per connection attempt.

Runs on the event-loop thread. ``LiveConnection.open`` connects with both auth headers, waits for
``connected``, sends ``start`` and waits for the ``streaming`` ack (no audio before it); then a
receiver task decodes every message (never crashing on bad input; payloads over 256 KiB, such as a
multi-MB ``final_summary``, are decoded in an executor), applies the attempt_id rule and hands events
to the session's callback. ``ended`` resolves with WHY the connection ended, classified into the
``app.errors`` tree (``None`` = ended cleanly after ``final_summary``; ``app.transport.close_reasons``),
which the reconnect policy uses.

Only the websockets library's public API: ``connect``, ``send``, ``recv``, iteration, ``close``.
``await send()`` is the backpressure signal: it returns once the write buffer is below its high-water
mark. Sends are never cancelled midway; to abort, ``close()``. Each audio frame is its own message, as
the contract requires, sent with its own ``send()``: the session's sender task sends a tick's frames
one after the other, and the loop runs it once per tick while the socket takes them.
Opening the socket (the upgrade with both auth headers, and what its failures mean) is
``app.transport.opening``; the /health check lives in ``app.transport.health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from app.core import protocol
from app.core.framing import Frame
from app.core.messages import (
    AudioMessage,
    ErrorEvent,
    FinalSummaryEvent,
    ServerEvent,
    StartMessage,
    StatusEvent,
    StatusState,
    StopMessage,
    UnrecognizedEvent,
)
from app.errors import (
    AuthError,
    ConnectionFailedError,
    EchoPanelError,
    HandshakeTimeoutError,
    ProtocolError,
)
from app.transport.close_reasons import (
    CLOSE_POLICY_VIOLATION,
    TOKEN_HINT,
    close_code,
    close_text,
    closed_error,
    status_error,
)
from app.transport.opening import ACK_TIMEOUT_SECONDS as ACK_TIMEOUT_SECONDS
from app.transport.opening import TransportConfig as TransportConfig
from app.transport.opening import open_socket

log = logging.getLogger(__name__)

EXECUTOR_DECODE_BYTES = 256 * 1024
EventCallback = Callable[[ServerEvent], None]


class LiveConnection:
    """One open, acknowledged connection. Create with ``await LiveConnection.open(...)``."""

    def __init__(self, ws: ClientConnection, config: TransportConfig, start: StartMessage,
                 on_event: EventCallback) -> None:
        self._ws = ws
        self._config = config
        self.start = start
        self._on_event = on_event
        self._problem: EchoPanelError | None = None  # what the server said before closing
        self.summary_received = False
        self.dropped_foreign = 0  # messages dropped by the attempt_id rule
        self.consumer_failures = 0  # messages the session's callback raised on
        self._reporting = False
        self.ended: asyncio.Future[EchoPanelError | None] = asyncio.get_running_loop().create_future()
        self._receiver: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, config: TransportConfig, start: StartMessage, on_event: EventCallback
    ) -> LiveConnection:
        """Connect and complete the start handshake. Raises an ``app.errors`` exception on failure."""
        ws = await open_socket(config)
        conn = cls(ws, config, start, on_event)
        try:
            await asyncio.wait_for(conn._handshake(), config.ack_timeout)
        except TimeoutError:
            await conn.close()
            raise HandshakeTimeoutError(
                f"The backend at {config.endpoint.ws_url} did not acknowledge the session start within "
                f"{config.ack_timeout:g} s. Is it an EchoPanel backend, and is it overloaded?"
            ) from None
        except BaseException:
            await conn.close()
            raise
        conn._receiver = asyncio.create_task(conn._receive(), name=f"receiver-{start.connection_id[:8]}")
        return conn

    @property
    def connection_id(self) -> str:
        return self.start.connection_id

    @property
    def is_open(self) -> bool:
        return not self.ended.done()

    async def send_audio(self, frame: Frame) -> None:
        """Send one frame as one message; returns once the socket took it (the write buffer below its
        high-water mark: this is the backpressure). Raises ``ConnectionFailedError`` if the socket is
        gone (like any failed send, it cannot tell what the server got: the caller keeps the frame)."""
        if self._config.binary_audio:
            await self._send(protocol.encode_audio_frame(frame.source, frame.pcm))
        else:
            await self._send(protocol.encode_audio_json(AudioMessage(frame.source, frame.pcm)))

    async def send_audio_many(self, frames: Sequence[Frame]) -> None:
        """``send_audio`` for a tick's frames, one message each through websockets' public ``send``.
        (Joining them into one socket write saves CPU but needs the library's internal send context,
        which issue 16 ruled out.) Raises ``ConnectionFailedError`` if the socket is gone; then the
        caller keeps all of them (it cannot tell which the server got)."""
        if self._config.binary_audio:
            payloads: list[str | bytes] = [protocol.encode_audio_frame(f.source, f.pcm) for f in frames]
        else:
            payloads = [protocol.encode_audio_json(AudioMessage(f.source, f.pcm)) for f in frames]
        try:
            for payload in payloads:
                await self._ws.send(payload)
        except ConnectionClosed as exc:
            raise ConnectionFailedError(f"The backend connection closed ({close_text(exc)}).") from None

    async def send_stop(self) -> None:
        await self._send(protocol.encode_stop(StopMessage(self.start.session_id)))

    async def close(self) -> None:
        """Close (idempotent); the receiver then ends and ``ended`` resolves."""
        await self._ws.close()
        if self._receiver is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiver
        elif not self.ended.done():
            self.ended.set_result(ConnectionFailedError("The connection was closed during the handshake."))

    # ------------------------------------------------------------------ internals

    async def _send(self, payload: str | bytes) -> None:
        try:
            await self._ws.send(payload)
        except ConnectionClosed as exc:
            raise ConnectionFailedError(f"The backend connection closed ({close_text(exc)}).") from None

    async def _handshake(self) -> None:
        """Expect ``connected``, send ``start``, expect the ``streaming`` ack; other messages pass through."""
        connected = False
        while True:
            event = await self._recv_event()
            if isinstance(event, StatusEvent) and event.state == StatusState.CONNECTED and not connected:
                connected = True
                await self._send(protocol.encode_start(self.start))
            elif isinstance(event, StatusEvent) and event.state == StatusState.STREAMING and connected:
                self._on_event(event)
                return
            else:
                self._note(event)
                if self._problem is not None:
                    raise self._problem
                if protocol.is_for_attempt(event, self.start.attempt_id):
                    self._on_event(event)

    async def _recv_event(self) -> ServerEvent:
        try:
            payload = await self._ws.recv()
        except ConnectionClosed as exc:  # during the handshake: the same rules as a later close
            raise self._outcome(exc) or closed_error(exc, self._config.endpoint) from None
        return await _decode(payload)

    async def _receive(self) -> None:
        outcome: EchoPanelError | None = None
        try:
            async for payload in self._ws:
                event = await _decode(payload)
                if not protocol.is_for_attempt(event, self.start.attempt_id):
                    self.dropped_foreign += 1
                    log.debug("dropped a message for attempt %s", event.ids.attempt_id)
                    continue
                self._note(event)
                try:
                    self._on_event(event)
                except Exception as exc:  # a consumer bug must not kill the connection, nor go unsaid
                    self._consumer_failed(event, exc)
            outcome = self._outcome(None)
        except ConnectionClosed as exc:
            outcome = self._outcome(exc)
        except Exception as exc:
            log.exception("receiver failed")
            outcome = ConnectionFailedError(f"The connection failed: {type(exc).__name__}: {exc}")
        finally:
            if not self.ended.done():
                self.ended.set_result(outcome)

    def _consumer_failed(self, event: ServerEvent, exc: Exception) -> None:
        """The session's callback raised: log the first failure with its traceback, count the rest
        (a line at 2, 4, 8, ... failures), and at those counts tell the session through the same
        callback, as an ``UnrecognizedEvent`` it shows as a warning: messages are being lost."""
        self.consumer_failures += 1
        count, kind = self.consumer_failures, type(event).__name__
        if count == 1:
            log.error("the session failed to handle a %s; later failures are counted", kind, exc_info=exc)
        elif count & (count - 1):  # not a power of two: counted only
            return
        else:
            log.error("the session has failed to handle %d server messages (latest a %s: %r)",
                      count, kind, exc)
        if self._reporting:
            return
        self._reporting = True
        try:
            self._on_event(UnrecognizedEvent(
                f"the client failed to handle {count} server message(s), the latest a {kind} "
                f"({type(exc).__name__}: {exc}); they are lost, see the log", ""))
        except Exception:  # the callback is broken for this too: the log has said it all
            log.debug("reporting the failure to the session failed as well", exc_info=True)
        finally:
            self._reporting = False

    def _note(self, event: ServerEvent) -> None:
        """Remember what a following close means: auth, protocol or capacity trouble."""
        if isinstance(event, FinalSummaryEvent):
            self.summary_received = True
        elif isinstance(event, ErrorEvent):
            self._problem = ProtocolError(f"The backend reported an error: {event.message}")
        elif isinstance(event, StatusEvent) and event.state == StatusState.ERROR:
            self._problem = status_error(event.message)

    def _outcome(self, exc: ConnectionClosed | None) -> EchoPanelError | None:
        code = self._ws.close_code if exc is None else close_code(exc)
        if code == CLOSE_POLICY_VIOLATION:
            return self._problem if isinstance(self._problem, AuthError) else AuthError(
                f"The backend refused the connection (policy violation, close 1008). {TOKEN_HINT}")
        if self._problem is not None:
            return self._problem
        if self.summary_received:
            return None
        return closed_error(exc, self._config.endpoint, code)


async def _decode(payload: str | bytes) -> ServerEvent:
    if len(payload) > EXECUTOR_DECODE_BYTES:  # a multi-MB summary: keep the loop responsive
        return await asyncio.get_running_loop().run_in_executor(None, protocol.decode_server, payload)
    return protocol.decode_server(payload)
