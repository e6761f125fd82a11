"""``GET /health`` before a session (CONTRACT.md section 1), with the stdlib HTTP client in an executor.

200 -> ready. 503 -> the model is loading: report ``detail.reason`` through ``on_wait`` and poll until
``wait_seconds`` have passed, then ``BackendNotReadyError``. 401/403 -> ``AuthError``. 404 -> a backend
without the endpoint: proceed (the WebSocket handshake will tell). Unreachable -> ``ConnectionFailedError``;
an untrusted certificate or a host name that does not exist -> terminal (``close_reasons.network_error``).
The token goes in both auth headers, never in the query string.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.core import fields as f
from app.core.endpoint import Endpoint, auth_headers
from app.errors import AuthError, BackendNotReadyError, ConnectionFailedError
from app.transport.close_reasons import TOKEN_HINT, network_error

REQUEST_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Health:
    ready: bool
    status: int
    reason: str = ""  # why not ready (``detail.reason``), "" when ready
    provider: str | None = None
    model: str | None = None


def fetch_health(endpoint: Endpoint, token: str, timeout: float = REQUEST_TIMEOUT) -> Health:
    """One blocking request (run it in an executor). Raises for auth and unreachable backends."""
    url = urlsplit(endpoint.health_url)
    conn: http.client.HTTPConnection
    if endpoint.secure:
        conn = http.client.HTTPSConnection(endpoint.host, endpoint.port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)
    try:
        conn.request("GET", url.path, headers=dict(auth_headers(token)))
        response = conn.getresponse()
        status, body = response.status, response.read(1 << 20)
    except OSError as exc:
        raise network_error(exc, endpoint, endpoint.http_url) from None
    except http.client.HTTPException as exc:  # it answered, but not as an HTTP server: retried
        raise ConnectionFailedError(
            f"The backend at {endpoint.http_url} did not answer as an HTTP server ({type(exc).__name__})."
        ) from None
    finally:
        conn.close()
    return _interpret(endpoint, status, _json_object(body))


def _interpret(endpoint: Endpoint, status: int, obj: Mapping[str, Any]) -> Health:
    if status in (401, 403):
        raise AuthError(f"The backend at {endpoint.http_url} refused the token (HTTP {status}). {TOKEN_HINT}")
    if status == 200:
        return Health(True, status, provider=f.opt_text(obj, "provider"), model=f.opt_text(obj, "model"))
    if status == 404:  # no /health on this server: let the WebSocket handshake decide
        return Health(True, status, reason="the backend has no /health endpoint")
    detail = f.opt_mapping(obj, "detail") or obj
    reason = f.text(detail, "reason") or f.text(detail, "status") or f"HTTP {status}"
    return Health(False, status, reason=reason)


def _json_object(body: bytes) -> Mapping[str, Any]:
    try:
        obj = json.loads(body)
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


async def check_health(
    endpoint: Endpoint,
    token: str,
    *,
    wait_seconds: float = 60.0,
    poll_seconds: float = 1.0,
    on_wait: Callable[[str], None] | None = None,
) -> Health:
    """Poll /health until ready or ``wait_seconds`` pass. Raises ``BackendNotReadyError`` on giving up."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + wait_seconds
    while True:
        health = await loop.run_in_executor(None, fetch_health, endpoint, token)
        if health.ready:
            return health
        if on_wait is not None:
            on_wait(health.reason)
        if time.monotonic() + poll_seconds > deadline:
            raise BackendNotReadyError(
                f"The backend at {endpoint.http_url} is not ready after {wait_seconds:g} s: {health.reason}. "
                "Try again when it has finished loading."
            )
        await asyncio.sleep(poll_seconds)
