"""Opening one WebSocket to an EchoPanel backend: the upgrade with both auth headers, and what its
failures mean as ``app.errors`` exceptions (HTTP 401/403 -> auth, 404 -> wrong URL, a TCP drop during
the upgrade -> retried, not a WebSocket server -> protocol error, network errors ->
``close_reasons.network_error``). ``TransportConfig`` is what a connection needs. Event-loop thread;
websockets' public API only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidMessage, InvalidStatus, InvalidURI

from app.core.endpoint import Endpoint, auth_headers
from app.errors import AuthError, ConfigError, ConnectionFailedError, ProtocolError
from app.transport.close_reasons import TOKEN_HINT, network_error

SERVER_CAPACITY_WAIT_SECONDS = 5.0  # CONTRACT 2.4: a full server waits up to 5 s for a free slot
ACK_TIMEOUT_SECONDS = SERVER_CAPACITY_WAIT_SECONDS + 5.0  # + a busy or still-starting backend


@dataclass(frozen=True, slots=True)
class TransportConfig:
    endpoint: Endpoint
    token: str = field(default="", repr=False)  # never in a repr, so never in a log line
    binary_audio: bool = True
    # connected + streaming ack. Longer than the server's capacity wait (up to 5 s before "Server at
    # capacity"), so that message reaches the user instead of a timeout of our own.
    ack_timeout: float = ACK_TIMEOUT_SECONDS
    open_timeout: float = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    max_size: int = 64 * 2**20  # final_summary can be several MB; the contract asks for >= 16 MiB


async def open_socket(config: TransportConfig) -> ClientConnection:
    """Open the WebSocket (the upgrade only). Raises an ``app.errors`` exception on failure."""
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
        )
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
    except InvalidMessage as exc:
        if isinstance(exc.__cause__, EOFError | OSError):  # the backend dropped the TCP connection
            raise ConnectionFailedError(  # mid-upgrade: a restart or a proxy hiccup, retried
                f"The backend at {endpoint.ws_url} closed the connection during the WebSocket upgrade."
            ) from None
        raise ProtocolError(f"{endpoint.ws_url} did not answer as a WebSocket server: {exc}") from None
    except InvalidHandshake as exc:
        raise ProtocolError(f"{endpoint.ws_url} did not answer as a WebSocket server: {exc}") from None
    except (OSError, TimeoutError) as exc:
        raise network_error(exc, endpoint, endpoint.ws_url) from None
