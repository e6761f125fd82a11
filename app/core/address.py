"""Strict checks of a backend address a person typed, before it is saved: the mistakes
``parse_endpoint`` would otherwise turn into a wrong but valid-looking URL (``http//127.0.0.1:8931``
parses as host "http" with path "//127.0.0.1:8931", then fails later as a DNS error). Each problem
comes back as one sentence saying what is wrong and, where it can tell, what was meant. Pure.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SCHEMES = ("wss", "ws", "https", "http")
_SCHEME_TYPO = re.compile(r"^(wss|ws|https|http)(:/(?!/)|//|:(?!//)|;//|:\\\\)", re.IGNORECASE)
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


def address_problem(text: str) -> str:
    """"" when ``text`` looks like a usable backend address, else why not (one sentence)."""
    raw = text.strip()
    if not raw:
        return "Enter the backend's address, such as 127.0.0.1:8000 or wss://echopanel.example.com."
    typo = _SCHEME_TYPO.match(raw)
    if typo and not raw.lower().startswith(f"{typo.group(1).lower()}://"):
        scheme = typo.group(1).lower()
        rest = raw[typo.end():].lstrip("/\\")
        return f"“{raw}” is missing “://” after “{scheme}”: did you mean “{scheme}://{rest}”?"
    explicit = "://" in raw
    if not explicit and raw.count(":") >= 2 and not raw.startswith("["):
        raw = f"[{raw}]"  # a bare IPv6 address such as ::1, as parse_endpoint reads it
    parts = urlsplit(raw if explicit else f"//{raw}")
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return f"The port in “{raw}” must be a number from 1 to 65535."
    if host.lower() in SCHEMES:
        return f"“{raw}” has “{host}” where the host name should be: write “{host}://host:port”."
    if "//" in parts.path or "\\" in raw:
        return f"“{raw}” has a doubled or backward slash in its path; check the address."
    if re.search(r":\s*(/|$)", parts.netloc) and port is None:
        return f"“{raw}” ends its host with “:” but gives no port."
    return _host_problem(host, raw) if host and ":" not in host else ""


def _host_problem(host: str, raw: str) -> str:
    labels = host.rstrip(".").split(".")
    if all(label.isdigit() for label in labels):
        if len(labels) != 4 or any(int(label) > 255 for label in labels):
            return f"“{host}” is not a valid IPv4 address (four numbers from 0 to 255, such as 192.168.1.20)."
        return ""
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        return (f"“{host}” is not a valid host name: use letters, digits and hyphens between dots, such as "
                "echopanel.example.com.")
    if labels[-1].isdigit():
        return f"“{host}” looks like a mistyped IP address."
    return ""
