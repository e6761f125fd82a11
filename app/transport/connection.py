"""The WebSocket connection to an EchoPanel backend: one ``LiveConnection`` per connection attempt.

Runs on the event-loop thread. ``LiveConnection.open`` connects with both auth headers, waits for
``connected``, sends ``start`` and waits for the ``streaming`` ack (no audio before it); then a
receiver task decodes every message (never crashing on bad input; payloads over 256 KiB, such as a
multi-MB ``final_summary``, are decoded in an executor), applies the attempt_id rule and hands events
to the session's callback. ``ended`` resolves with WHY the connection ended, classified into the
``app.errors`` tree (``None`` = ended cleanly after ``final_summary``), which the reconnect policy uses.

``await send()`` is the backpressure signal: sends are never cancelled midway; to abort, ``close()``.
Audio goes out in batches: the frames due in one session tick, each its own WebSocket message as the
contract requires, are written to the socket with one write. ``try_send_audio_batch`` writes them at
once, without awaiting, when nothing could make a send wait (connection open, write buffer below its
high-water mark); otherwise the caller awaits ``send_audio_batch``, which waits for the drain (or
raises). Per-message awaited sends cost the send machinery and a syscall per message: at 100
messages a second that was about a quarter of the client's CPU (python -m app.bench pipeline).
The /health check lives in ``app.transport.health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.protocol import State

from app.core import protocol, wsframe
from app.core.endpoint import Endpoint, auth_headers
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
)
from app.errors import (
    AuthError,
    CapacityError,
    ConfigError,
    ConnectionFailedError,
    EchoPanelError,
    HandshakeTimeoutError,
    ProtocolError,
)

log = logging.getLogger(__name__)

EXECUTOR_DECODE_BYTES = 256 * 1024
TOKEN_HINT = "Check the access token (--token, ECHOPANEL_TOKEN or the settings)."
EventCallback = Callable[[ServerEvent], None]


@dataclass(frozen=True, slots=True)
class TransportConfig:
    endpoint: Endpoint
    token: str = ""
    binary_audio: bool = True
    ack_timeout: float = 5.0  # connected + streaming ack, as the macOS client
    open_timeout: float = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    max_size: int = 64 * 2**20  # final_summary can be several MB; the contract asks for >= 16 MiB


class _Connection(ClientConnection):
    """A websockets ``ClientConnection`` (installed through ``connect(create_connection=...)``, the
    library's documented customisation hook) that sends several messages with one write.

    Both methods are built from what ``send()`` itself uses: the Sans-I/O protocol's
    ``send_binary``/``send_text`` and ``data_to_send()``, written with one ``writelines`` instead of
    one write per message. This client never sends fragmented messages, so no fragment is in flight.
    """

    async def send_batch(self, messages: Sequence[bytes | str]) -> None:
        """Send each item as its own message (bytes: binary, str: text), in order, with ONE write and
        one drain: ``send()``'s framing, state checks, error handling and backpressure (its
        ``send_context``) for the whole batch. Raises ``ConnectionClosed`` like ``send()``."""
        async with self.send_context():
            self._queue(messages)

    def can_send_nowait(self) -> bool:
        """Whether ``send_batch`` would not wait: the connection is open and the write buffer is
        below its high-water mark (not paused), so a write goes out now with no drain to await."""
        return self.protocol.state is State.OPEN and not self.paused and not self.transport.is_closing()

    def send_batch_nowait(self, messages: Sequence[bytes | str]) -> bool:
        """``send_batch`` without awaiting, when ``can_send_nowait()``; else nothing is written and
        the result is False (then await ``send_batch``)."""
        if not self.can_send_nowait():
            return False
        self._queue(messages)
        return True

    def send_binary_nowait(self, payloads: Sequence[bytes]) -> bool:
        """``send_batch_nowait`` for binary messages, framed by ``app.core.wsframe`` (far cheaper per
        message than the library's framing). Falls back to the library's framing if an extension was
        negotiated (none is: compression is off) or its debug logging of every frame is on. This
        client never sends fragmented messages, so none can be open here."""
        if not self.can_send_nowait():
            return False
        proto = self.protocol
        if proto.extensions or proto.debug:
            self._queue(payloads)
            return True
        pending = proto.data_to_send()  # always empty here: the library writes its output at once
        frames = wsframe.masked_binary_frames(payloads, os.urandom(wsframe.MASK_BYTES * len(payloads)))
        self.transport.writelines([*pending, *frames] if pending else frames)
        return True

    def _queue(self, messages: Sequence[bytes | str]) -> None:
        for message in messages:
            if isinstance(message, str):
                self.protocol.send_text(message.encode())
            else:
                self.protocol.send_binary(message)
        # only data frames here: the end-of-stream marker (b"") comes from closing, never from sending
        self.transport.writelines(self.protocol.data_to_send())


class LiveConnection:
    """One open, acknowledged connection. Create with ``await LiveConnection.open(...)``."""

    def __init__(self, ws: _Connection, config: TransportConfig, start: StartMessage,
                 on_event: EventCallback) -> None:
        self._ws = ws
        self._config = config
        self.start = start
        self._on_event = on_event
        self._problem: EchoPanelError | None = None  # what the server said before closing
        self.summary_received = False
        self.dropped_foreign = 0  # messages dropped by the attempt_id rule
        self.ended: asyncio.Future[EchoPanelError | None] = asyncio.get_running_loop().create_future()
        self._receiver: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, config: TransportConfig, start: StartMessage, on_event: EventCallback
    ) -> LiveConnection:
        """Connect and complete the start handshake. Raises an ``app.errors`` exception on failure."""
        ws = await _connect(config)
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

    def can_send_now(self) -> bool:
        """Whether a send would go out at once, without waiting: open, write buffer not paused."""
        return self.is_open and self._ws.can_send_nowait()

    def send_audio_batch_now(self, frames: Sequence[Frame]) -> None:
        """Send these frames at once, one message each, in order, with one write; only right after
        ``can_send_now()`` said yes (nothing awaited in between), else ``ConnectionFailedError``."""
        if self._config.binary_audio:
            sent = self._ws.send_binary_nowait(_binary_payloads(frames))
        else:
            sent = self._ws.send_batch_nowait(self._audio_payloads(frames))
        if not sent:
            raise ConnectionFailedError("The backend connection cannot take audio now.")

    async def send_audio_batch(self, frames: Sequence[Frame]) -> None:
        """Send these frames, one message each, in order, with one write and one drain; raises
        ``ConnectionFailedError`` if the socket is gone (like a failed ``send``, it cannot tell what,
        if anything, the server got: the caller keeps the frames for the next connection)."""
        try:
            await self._ws.send_batch(self._audio_payloads(frames))
        except ConnectionClosed as exc:
            raise ConnectionFailedError(f"The backend connection closed ({_close_text(exc)}).") from None

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

    def _audio_payloads(self, frames: Sequence[Frame]) -> list[bytes | str]:
        if self._config.binary_audio:
            return [*_binary_payloads(frames)]
        return [protocol.encode_audio_json(AudioMessage(f.source, f.pcm)) for f in frames]

    async def _send(self, payload: str | bytes) -> None:
        try:
            await self._ws.send(payload)
        except ConnectionClosed as exc:
            raise ConnectionFailedError(f"The backend connection closed ({_close_text(exc)}).") from None

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
        except ConnectionClosed as exc:
            raise self._problem or _closed_error(exc, self._config.endpoint) from None
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
                except Exception:  # a consumer bug must not kill the connection
                    log.exception("session callback failed on %s", type(event).__name__)
            outcome = self._outcome(None)
        except ConnectionClosed as exc:
            outcome = self._outcome(exc)
        except Exception as exc:
            log.exception("receiver failed")
            outcome = ConnectionFailedError(f"The connection failed: {type(exc).__name__}: {exc}")
        finally:
            if not self.ended.done():
                self.ended.set_result(outcome)

    def _note(self, event: ServerEvent) -> None:
        """Remember what a following close means: auth, protocol or capacity trouble."""
        if isinstance(event, FinalSummaryEvent):
            self.summary_received = True
        elif isinstance(event, ErrorEvent):
            self._problem = ProtocolError(f"The backend reported an error: {event.message}")
        elif isinstance(event, StatusEvent) and event.state == StatusState.ERROR:
            self._problem = _status_error(event.message)

    def _outcome(self, exc: ConnectionClosed | None) -> EchoPanelError | None:
        code = self._ws.close_code if exc is None else _code(exc)
        if code == 1008:
            return self._problem if isinstance(self._problem, AuthError) else AuthError(
                f"The backend refused the connection (policy violation, close 1008). {TOKEN_HINT}")
        if self._problem is not None:
            return self._problem
        if self.summary_received:
            return None
        return _closed_error(exc, self._config.endpoint, code)


def _binary_payloads(frames: Sequence[Frame]) -> list[bytes]:
    return [protocol.encode_audio_frame(f.source, f.pcm) for f in frames]


async def _connect(config: TransportConfig) -> _Connection:
    endpoint = config.endpoint
    try:
        ws = await connect(
            endpoint.ws_url,
            additional_headers=list(auth_headers(config.token)),
            max_size=config.max_size,
            ping_interval=config.ping_interval,
            ping_timeout=config.ping_timeout,
            open_timeout=config.open_timeout,
            compression=None,  # audio does not compress; deflate would only cost CPU
            proxy=None if endpoint.is_local else True,
            create_connection=_Connection,
        )
        assert isinstance(ws, _Connection)
        return ws
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status in (401, 403):
            raise AuthError(f"The backend refused the token (HTTP {status}). {TOKEN_HINT}") from None
        if status == 404:
            raise ConfigError(
                f"No EchoPanel live listener at {endpoint.ws_url} (HTTP 404). Check the URL."
            ) from None
        raise ConnectionFailedError(f"The backend rejected the WebSocket upgrade (HTTP {status}).") from None
    except InvalidURI as exc:
        raise ConfigError(f"Invalid backend URL {endpoint.ws_url}: {exc}") from None
    except InvalidHandshake as exc:
        raise ProtocolError(f"{endpoint.ws_url} did not answer as a WebSocket server: {exc}") from None
    except (OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ConnectionFailedError(f"Cannot reach the backend at {endpoint.ws_url}: {reason}.") from None


async def _decode(payload: str | bytes) -> ServerEvent:
    if len(payload) > EXECUTOR_DECODE_BYTES:  # a multi-MB summary: keep the loop responsive
        return await asyncio.get_running_loop().run_in_executor(None, protocol.decode_server, payload)
    return protocol.decode_server(payload)


def _status_error(message: str) -> EchoPanelError:
    lowered = message.lower()
    if "unauthorized" in lowered:
        return AuthError(f"The backend refused the token ({message}). {TOKEN_HINT}")
    if "capacity" in lowered:
        return CapacityError(f"{message or 'Server at capacity'}. Retrying later.")
    return ConnectionFailedError(f"The backend reported: {message or 'an unspecified error'}.")


def _code(exc: ConnectionClosed) -> int | None:
    return exc.rcvd.code if exc.rcvd is not None else None


def _close_text(exc: ConnectionClosed) -> str:
    if exc.rcvd is None:
        return "no close frame: the connection was lost"
    return f"code {exc.rcvd.code}" + (f", {exc.rcvd.reason}" if exc.rcvd.reason else "")


def _closed_error(
    exc: ConnectionClosed | None, endpoint: Endpoint, code: int | None = None
) -> EchoPanelError:
    what = _close_text(exc) if exc is not None else f"code {code}"
    return ConnectionFailedError(f"The connection to {endpoint.ws_url} was lost ({what}).")
