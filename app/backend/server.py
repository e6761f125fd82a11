"""The reference backend's server: websockets on one port, ``/health`` over plain HTTP, model loading.

``ReferenceBackend`` runs on the caller's event loop (``async with``, or ``start()``/``stop()``).
``EmbeddedBackend`` (embedded.py) wraps it in its own thread and loop for the desktop app and
synchronous tests. Transport settings follow the real server: 16 MiB max message, protocol pings
every 20 s. The recognizer's model loads in a worker thread at start; until then ``/health`` answers
503 ``{"detail":{"status":"loading",...}}`` and new sessions wait for it before their ack.

Stopping (SIGTERM for the CLI) closes every live socket at once with 1012, as the real server's
shutdown does: no summary, queued audio is never transcribed (ideal mode: 1001, going away).
While running, tokens never reach the logs (``logsafety.py``). ``listen_addresses`` are the addresses
really bound (after ``--port 0`` or a host name that resolves to several); ``exposed`` says whether
one of them is reachable from other machines, which without a token is logged as a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from app.backend import logsafety
from app.backend.config import HEALTH_PATH, WS_PATH, BackendConfig
from app.backend.connection import authorized, handle_connection
from app.backend.recognizers import Recognizer, SimulatedRecognizer
from app.backend.runtime import BackendRuntime, Capacity, ModelState, ModelStatus
from app.errors import ConfigError

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 16 * 2**20
PING_INTERVAL_SECONDS = 20.0
SHUTDOWN_GRACE_SECONDS = 1.0
CLOSE_SERVICE_RESTART = 1012  # what the real server's (uvicorn's) shutdown sends every live socket
WEBSOCKETS_LOGGER = "app.backend.websockets"


def make_recognizer(config: BackendConfig) -> Recognizer:
    if config.recognizer == "simulated":
        return SimulatedRecognizer(load_seconds=config.load_seconds, whole_chunks=config.finals == "chunks")
    from app.backend.sphinx import PocketsphinxRecognizer

    return PocketsphinxRecognizer()


def _url_host(host: str) -> str:
    """A host for a URL a local client can connect to: wildcard addresses become loopback."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def url_host(host: str) -> str:
    """``host`` as written in a URL (IPv6 in brackets), unchanged otherwise."""
    return f"[{host}]" if ":" in host else host


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return host == "localhost"


class ReferenceBackend:
    """The bundled backend on the current loop. ``recognizer`` overrides the one ``config`` names.

    One start/stop cycle per instance (stopping releases the recognizer): make a new one to restart.
    """

    def __init__(self, config: BackendConfig, *, recognizer: Recognizer | None = None) -> None:
        self.config = config
        self._recognizer = recognizer or make_recognizer(config)
        self._server: Server | None = None
        self._runtime: BackendRuntime | None = None
        self._load_task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._connections: set[ServerConnection] = set()
        self._redactor = logsafety.RedactSecrets([config.token])
        self._filtered: list[logging.Logger] = []
        self._used = False

    async def __aenter__(self) -> ReferenceBackend:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def listen_addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every socket really listening, in bind order."""
        if self._server is None:
            raise RuntimeError("the backend is not started")
        return [(str(sock.getsockname()[0]), int(sock.getsockname()[1])) for sock in self._server.sockets]

    @property
    def port(self) -> int:
        return self.listen_addresses[0][1]

    @property
    def exposed(self) -> bool:
        """True if some listening address is reachable from other machines."""
        return not all(is_loopback(host) for host, _ in self.listen_addresses)

    @property
    def ws_url(self) -> str:
        host, port = self.listen_addresses[0]
        return f"ws://{_url_host(host)}:{port}{WS_PATH}"

    @property
    def http_url(self) -> str:
        host, port = self.listen_addresses[0]
        return f"http://{_url_host(host)}:{port}"

    async def start(self) -> None:
        """Listen, and start loading the model. Raises ``ConfigError`` if the address is unusable."""
        if self._used:
            raise RuntimeError("a ReferenceBackend starts once; create a new one to restart")
        self._used = True
        rec = self._recognizer
        model = ModelState(f"Loading the {rec.provider} model {rec.model_id}")
        self._runtime = BackendRuntime(self.config, rec, model, Capacity(self.config.max_sessions))
        self._filtered = logsafety.install(self._redactor, [WEBSOCKETS_LOGGER])
        try:
            self._server = await serve(
                self._handle,
                self.config.host,
                self.config.port,
                process_request=self._process_request,
                max_size=MAX_MESSAGE_BYTES,
                ping_interval=PING_INTERVAL_SECONDS,
                ping_timeout=PING_INTERVAL_SECONDS,
                logger=logging.getLogger(WEBSOCKETS_LOGGER),
            )
        except OSError as exc:
            logsafety.uninstall(self._redactor, self._filtered)
            raise ConfigError(
                f"Cannot listen on {self.config.host}:{self.config.port} ({exc.strerror or exc}). "
                "Choose another port with --port (0 picks a free one)."
            ) from exc
        self._load_task = asyncio.create_task(self._load_model(model), name="load-model")
        where = ", ".join(f"{url_host(h)}:{p}" for h, p in self.listen_addresses)
        if self.exposed and not self.config.token:
            log.warning("listening on %s, reachable from other machines, WITHOUT a token: anyone who "
                        "can reach it can stream audio and read transcripts; set a token "
                        "(--token or ECHOPANEL_WS_AUTH_TOKEN) or listen on 127.0.0.1", where)
        log.info("listening on %s (%s fidelity)", where, self.config.fidelity)

    async def stop(self) -> None:
        """Close every connection (1012; ideal mode 1001), stop listening, release the recognizer.
        Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            closing: list[asyncio.Task[None]] = []
            if self.config.faithful:
                closing = [asyncio.create_task(ws.close(CLOSE_SERVICE_RESTART)) for ws in self._connections]
                server.close(close_connections=False)
            else:
                server.close()
            try:
                await asyncio.wait_for(asyncio.shield(server.wait_closed()), SHUTDOWN_GRACE_SECONDS)
            except TimeoutError:  # sessions busy flushing or waiting for capacity: end them now
                for task in [*self._handlers, *closing]:
                    task.cancel()
                await server.wait_closed()
            await asyncio.gather(*closing, return_exceptions=True)
        logsafety.uninstall(self._redactor, self._filtered)
        self._recognizer.close()
        if self._load_task is not None:
            self._load_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._load_task

    async def _load_model(self, model: ModelState) -> None:
        rec, began = self._recognizer, time.monotonic()
        log.info("loading the %s model %s", rec.provider, rec.model_id)
        try:
            await asyncio.to_thread(rec.load)
        except Exception as exc:
            model.set_failed(f"{rec.provider} model failed to load: {exc}")
            log.error("%s", model.reason)
            return
        model.set_ready()
        log.info("%s model ready in %.1f s", rec.provider, time.monotonic() - began)

    async def _handle(self, ws: ServerConnection) -> None:
        task = asyncio.current_task()
        assert task is not None and self._runtime is not None
        self._handlers.add(task)
        self._connections.add(ws)
        try:
            await handle_connection(ws, self._runtime)
        finally:
            self._handlers.discard(task)
            self._connections.discard(ws)

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == HEALTH_PATH:
            if not authorized(request.headers, self.config.token):
                return _json(connection, 401, {"detail": "Unauthorized"})
            return self._health(connection)
        if path != WS_PATH:
            return _json(connection, 404, {"detail": "Not Found"})
        return None  # the websocket handshake; auth is checked after accepting (contract: 1008)

    def _health(self, connection: ServerConnection) -> Response:
        assert self._runtime is not None
        rt = self._runtime
        rec = rt.recognizer
        if rt.model.status is ModelStatus.READY:
            return _json(connection, 200, {
                "status": "ok",
                "service": "echopanel",
                "provider": rec.provider,
                "model": rec.model_id,
                "model_ready": True,
                "sessions_active": rt.capacity.active,
                "sessions_waiting": rt.capacity.waiting,
                "max_sessions": rt.capacity.limit,
                "reference_backend": True,
                "fidelity": self.config.fidelity,
            })
        state = "loading" if rt.model.status is ModelStatus.LOADING else "error"
        return _json(connection, 503, {"detail": {
            "status": state, "reason": rt.model.reason, "provider": rec.provider, "model": rec.model_id,
        }})


def _json(connection: ServerConnection, status: int, body: dict[str, Any]) -> Response:
    response = connection.respond(status, json.dumps(body))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response
