"""Why a backend connection ended, as an ``app.errors`` exception the user can act on and the reconnect
policy can classify: a ``status`` error before the close (auth, capacity), close codes, a lost socket.
Pure functions of what the socket reported; no I/O.
"""

from __future__ import annotations

from websockets.exceptions import ConnectionClosed

from app.core.endpoint import Endpoint
from app.errors import AuthError, CapacityError, ConnectionFailedError, EchoPanelError

TOKEN_HINT = "Check the access token (--token, ECHOPANEL_TOKEN or the settings)."


def status_error(message: str) -> EchoPanelError:
    """A ``status`` with state ``error`` (the server closes after it): what it means for the user."""
    lowered = message.lower()
    if "unauthorized" in lowered:
        return AuthError(f"The backend refused the token ({message}). {TOKEN_HINT}")
    if "capacity" in lowered:
        return CapacityError(f"{message or 'Server at capacity'}. Retrying later.")
    return ConnectionFailedError(f"The backend reported: {message or 'an unspecified error'}.")


def close_code(exc: ConnectionClosed) -> int | None:
    """The close code the server sent, ``None`` if no close frame came."""
    return exc.rcvd.code if exc.rcvd is not None else None


def close_text(exc: ConnectionClosed) -> str:
    """The close as a short phrase for messages: "code 1011, reason" or that the socket was lost."""
    if exc.rcvd is None:
        return "no close frame: the connection was lost"
    return f"code {exc.rcvd.code}" + (f", {exc.rcvd.reason}" if exc.rcvd.reason else "")


def closed_error(
    exc: ConnectionClosed | None, endpoint: Endpoint, code: int | None = None
) -> EchoPanelError:
    """A connection lost without a known cause (retryable)."""
    what = close_text(exc) if exc is not None else f"code {code}"
    return ConnectionFailedError(f"The connection to {endpoint.ws_url} was lost ({what}).")
