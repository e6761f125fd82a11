"""Backend endpoint policy (CONTRACT.md section 1): URL scheme, default path, /health URL, auth headers.

Pure: no I/O. ``parse_endpoint`` accepts what a person would type ("localhost:8000", "wss://host",
"https://host/prefix/ws/live-listener", "[::1]", "::1") and returns a normalised ``Endpoint`` or
raises ``ConfigError`` with a message that says what to type instead.

Host names: internationalised names are IDNA-encoded (``bücher.example`` -> ``xn--bcher-kva.example``,
Python's IDNA 2003 codec), so every later layer sees ASCII; a name with an empty part or a part over
63 characters (or over 253 in all) is a ``ConfigError`` here, not a failure deep in the socket code.

Policy: a loopback host (127.0.0.1, localhost, ::1) gets ``ws``/``http``; any other host gets
``wss``/``https`` unless the user spelled the scheme out. Without a port, a loopback host means
the EchoPanel default 8000 (nobody runs it on port 80 locally); other hosts get the scheme's port.
The token travels only in headers, never in the query string, so a URL with a query or fragment is refused.
Nor does it travel in clear text to another computer: ``check_token_transport`` refuses a token over
``ws``/``http`` to a host that is not loopback unless the user allowed exactly that (see its docstring).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.errors import ConfigError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_PATH = "/ws/live-listener"
DEFAULT_LOCAL_PORT = 8000
_SCHEMES = {"ws": ("ws", False), "wss": ("wss", True), "http": ("ws", False), "https": ("wss", True)}
MAX_LABEL_CHARS, MAX_NAME_CHARS = 63, 253  # RFC 1035
_HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_HINT = 'Use a backend address such as "127.0.0.1:8000" or "wss://echopanel.example.com".'


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A backend address. ``host`` is bare (no brackets for IPv6)."""

    host: str
    port: int
    secure: bool
    path: str = DEFAULT_PATH

    @property
    def is_local(self) -> bool:
        return self.host.lower() in LOCAL_HOSTS

    @property
    def is_loopback(self) -> bool:
        """The host is this computer by its name or address: ``localhost``, 127.0.0.0/8, ``::1``.
        A name is not resolved: any other name counts as another computer."""
        host = self.host.lower().rstrip(".")
        if host in LOCAL_HOSTS:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
        return address.is_loopback or bool(mapped is not None and mapped.is_loopback)

    @property
    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.secure else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.secure else 'ws'}://{self._netloc}{self.path}"

    @property
    def http_url(self) -> str:
        """The HTTP base: scheme, host, port and the prefix the WebSocket path is mounted under."""
        prefix = self.path[: -len(DEFAULT_PATH)] if self.path.endswith(DEFAULT_PATH) else ""
        return f"{'https' if self.secure else 'http'}://{self._netloc}{prefix}"

    @property
    def health_url(self) -> str:
        return f"{self.http_url}/health"


def parse_endpoint(text: str) -> Endpoint:
    """Normalise a user-typed backend address. Raises ``ConfigError`` for anything unusable."""
    raw = text.strip()
    if not raw:
        raise ConfigError(f"No backend address was given. {_HINT}")
    if any(ch.isspace() for ch in raw):
        raise ConfigError(f"The backend address {raw!r} contains spaces. {_HINT}")
    explicit = "://" in raw
    if not explicit and raw.count(":") >= 2 and not raw.startswith("["):
        raw = f"[{raw}]"  # a bare IPv6 address such as ::1
    try:
        parts = urlsplit(raw if explicit else f"//{raw}")
        host, port = parts.hostname, parts.port
    except ValueError as exc:  # bad port or bracket syntax
        raise ConfigError(f"The backend address {text.strip()!r} is not valid ({exc}). {_HINT}") from None
    scheme = parts.scheme.lower()
    if explicit and scheme not in _SCHEMES:
        raise ConfigError(
            f"Unsupported scheme {parts.scheme!r} in {text.strip()!r}: use ws, wss, http or https."
        )
    if not host:
        raise ConfigError(f"The backend address {text.strip()!r} has no usable host name. {_HINT}")
    host = _ascii_host(host, text.strip())
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(
            f"The backend address {text.strip()!r} carries a query, fragment or user name; "
            "give the bare address and pass the token with --token or the settings."
        )
    local = host.lower() in LOCAL_HOSTS
    secure = _SCHEMES[scheme][1] if explicit else not local
    if port is None:
        port = DEFAULT_LOCAL_PORT if local else (443 if secure else 80)
    if port == 0:
        raise ConfigError(f"Port 0 in {text.strip()!r} is not a usable backend port.")
    path = parts.path.rstrip("/") or DEFAULT_PATH
    return Endpoint(host=host, port=port, secure=secure, path=path)


def _ascii_host(host: str, shown: str) -> str:
    """``host`` as the network sees it: an IP literal as typed, a name IDNA-encoded and checked."""
    if ":" in host:  # IPv6 literal; urlsplit already checked the brackets
        if not all(ch in "0123456789abcdefABCDEF:." for ch in host):
            raise ConfigError(f"The backend address {shown!r} has no usable host name. {_HINT}")
        return host
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        name = ""  # an empty part, a part over 63 characters, or characters IDNA does not allow
    labels = name.rstrip(".").split(".")
    if not name or len(name) > MAX_NAME_CHARS or any(not 0 < len(p) <= MAX_LABEL_CHARS for p in labels):
        raise ConfigError(
            f"The host name in {shown!r} is not valid: each part between dots must have 1 to "
            f"{MAX_LABEL_CHARS} characters, the whole name at most {MAX_NAME_CHARS}. {_HINT}"
        )
    if not _HOST_RE.match(name.rstrip(".")):
        raise ConfigError(f"The backend address {shown!r} has no usable host name. {_HINT}")
    return name


def sends_token_in_clear(endpoint: Endpoint, token: str) -> bool:
    """Whether connecting would put ``token`` unencrypted on a network: ws/http to another computer."""
    return bool(token.strip()) and not endpoint.secure and not endpoint.is_loopback


def check_token_transport(endpoint: Endpoint, token: str, allow_insecure: bool) -> None:
    """Raise ``ConfigError`` if the token would cross the network in clear text (ws:// or http:// to a
    host that is not loopback) and the user did not explicitly allow it for this backend."""
    if allow_insecure or not sends_token_in_clear(endpoint, token):
        return
    raise ConfigError(
        f"Refusing to send the access token unencrypted to {endpoint.ws_url}: {endpoint.host} is not this "
        "computer, and anyone on the network path could read the token. Use wss:// (TLS), or allow it "
        "for this backend: \"Send the token unencrypted\" in Settings, --allow-insecure in headless mode."
    )


def insecure_token_warning(endpoint: Endpoint) -> str:
    """What to tell the user while a session sends the token in clear text because they allowed it."""
    return (f"The access token is sent unencrypted to {endpoint.ws_url} (allowed for this backend): "
            "anyone on the network path can read it. Prefer wss://.")


def auth_headers(token: str) -> tuple[tuple[str, str], ...]:
    """Both auth headers the contract names, or none for an open server (empty token)."""
    token = token.strip()
    if not token:
        return ()
    if any(ch in token for ch in "\r\n\0"):
        raise ConfigError("The access token contains a line break or NUL; paste it again without it.")
    return (("Authorization", f"Bearer {token}"), ("x-echopanel-token", token))
