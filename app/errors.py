"""The exception tree. Every error a user can cause is an ``EchoPanelError`` whose ``str()`` says what
happened and what to do; the UI and headless mode show that text, never a traceback.

    EchoPanelError
    ├── ConfigError              bad setting or command-line value (URL, token, device name, WAV path)
    │   └── HostNotFoundError        the backend's host name does not exist (DNS); fix the address
    ├── CertificateError         the server's TLS certificate is not trusted (terminal)
    ├── AudioError               capture problems
    │   ├── DeviceNotFoundError      no such input device / no loopback device for system audio
    │   └── DeviceFailedError        permission denied, unplugged mid-session, PortAudio failure
    ├── ConnectionFailedError    the backend could not be reached or the socket dropped (retryable)
    │   ├── BackendNotReadyError     /health answered 503 (model loading) or did not answer
    │   └── HandshakeTimeoutError    connected, but no ``streaming`` ack in time (busy or restarting)
    └── SessionRejectedError     the backend refused us; not retried, except CapacityError
        ├── AuthError                401 on /health, or status error + close 1008
        ├── ProtocolError            type:"error" (schema, unsupported format)
        └── CapacityError            "Server at capacity": retried with the reconnect backoff

Which errors are retried is decided in one place, ``app.core.reconnect.classify``.
"""

from __future__ import annotations


class EchoPanelError(Exception):
    """Base of every error the app reports to its user."""


class ConfigError(EchoPanelError):
    pass


class HostNotFoundError(ConfigError):
    """The name does not exist (a temporary resolver failure is a ``ConnectionFailedError``)."""


class CertificateError(EchoPanelError):
    """TLS verification failed: retrying cannot help until the user trusts the certificate."""


class AudioError(EchoPanelError):
    pass


class DeviceNotFoundError(AudioError):
    pass


class DeviceFailedError(AudioError):
    pass


class ConnectionFailedError(EchoPanelError):
    pass


class BackendNotReadyError(ConnectionFailedError):
    pass


class HandshakeTimeoutError(ConnectionFailedError):
    """Retried with backoff: a backend that is restarting or busy acks a later attempt."""


class SessionRejectedError(EchoPanelError):
    """The backend refused the session. Terminal, except ``CapacityError``."""


class AuthError(SessionRejectedError):
    pass


class ProtocolError(SessionRejectedError):
    pass


class CapacityError(SessionRejectedError):
    """Retried with the reconnect policy's backoff (never in a tight loop): capacity frees up."""
