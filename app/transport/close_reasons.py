"""Why a backend connection ended or could not open, as an ``app.errors`` exception the user can act
on and the reconnect policy can classify: a ``status`` error before the close (auth, capacity), close
codes, a lost socket, and the network errors of opening one (``network_error``: certificate, DNS,
refused). Pure functions of what the socket reported; no I/O.
"""

from __future__ import annotations

import errno
import socket
import ssl

from websockets.exceptions import ConnectionClosed

from app.core.endpoint import Endpoint
from app.errors import (
    AuthError,
    CapacityError,
    CertificateError,
    ConnectionFailedError,
    EchoPanelError,
    HostNotFoundError,
)

TOKEN_HINT = "Check the access token (ECHOPANEL_TOKEN, --token-file or the settings)."
ADDRESS_HINT = "Check the backend address in Settings (--server in headless mode)."
CERT_HINT = ("If the backend uses a private certificate authority, trust it by setting SSL_CERT_FILE to its "
             "certificate (PEM) before starting the app.")
# getaddrinfo's "this name does not exist" (POSIX EAI_NONAME, EAI_NODATA where defined, Windows
# WSAHOST_NOT_FOUND / WSANO_DATA); anything else (EAI_AGAIN: no answer now) may pass.
_NO_SUCH_NAME = {code for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None),
                                   11001, 11004) if code is not None}
CLOSE_POLICY_VIOLATION = 1008


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


def network_error(exc: OSError, endpoint: Endpoint, url: str) -> EchoPanelError:
    """Why opening a connection to ``url`` failed, in words that say what to do. An untrusted
    certificate and a name that does not exist are terminal; a refused, reset or timed-out connection
    and a resolver that did not answer now are retryable."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or exc.reason or str(exc)
        return CertificateError(f"Cannot connect to {url} securely: the server's certificate is not "
                                f"trusted: {detail}. {CERT_HINT}")
    if isinstance(exc, socket.gaierror):
        if exc.errno in _NO_SUCH_NAME:
            return HostNotFoundError(f"Host not found: {endpoint.host} ({exc.strerror}). {ADDRESS_HINT}")
        return ConnectionFailedError(
            f"Host not found: {endpoint.host} could not be looked up right now ({exc.strerror}). Is the "
            f"network up? {ADDRESS_HINT}"
        )
    if isinstance(exc, TimeoutError):
        reason = "timed out"
    elif exc.errno == errno.ECONNREFUSED:
        reason = "connection refused (is the backend running, and on this port?)"
    else:
        reason = exc.strerror or str(exc) or type(exc).__name__
    return ConnectionFailedError(f"Cannot reach the backend at {url}: {reason}.")


def closed_error(
    exc: ConnectionClosed | None, endpoint: Endpoint, code: int | None = None
) -> EchoPanelError:
    """A connection lost without a known cause (retryable)."""
    what = close_text(exc) if exc is not None else f"code {code}"
    return ConnectionFailedError(f"The connection to {endpoint.ws_url} was lost ({what}).")
