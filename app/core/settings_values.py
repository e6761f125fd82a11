"""Parsers of single setting values, for ``app.core.settings``: each takes whatever storage gave back
(QSettings hands back strings such as ``"true"`` and ``"30"``) and returns the typed value or raises
``ValueError("<why>")``, the why completing a sentence about the setting. Pure, no I/O.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

SECONDS_RANGE = (5.0, 300.0)  # client backlog and summary wait
URL_SCHEMES = ("ws", "wss", "http", "https")

E = TypeVar("E", bound=enum.Enum)


def parse_url(raw: object) -> str:
    """"" (the built-in backend) or a ws/wss/http/https URL with a host. Full policy: app.core.endpoint."""
    if not isinstance(raw, str):
        raise ValueError("must be text")
    url = raw.strip()
    if not url:
        return ""
    if any(ch.isspace() for ch in url):
        raise ValueError("must not contain spaces")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in URL_SCHEMES:
        raise ValueError("must start with ws://, wss://, http:// or https://")
    if not parts.hostname:
        raise ValueError("has no host name")
    return url


def parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _BOOL_WORDS:
        return _BOOL_WORDS[raw.strip().lower()]
    raise ValueError("must be true or false")


_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False,
               "on": True, "off": False}


def parse_seconds(raw: object) -> float:
    lo, hi = SECONDS_RANGE
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("must be a number of seconds")
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        raise ValueError("must be a number of seconds") from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"must be between {lo:g} and {hi:g} seconds")
    return value


KEEP_DAYS_RANGE = (0, 3650)  # 0 = keep meetings forever


def parse_days(raw: object) -> int:
    lo, hi = KEEP_DAYS_RANGE
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("must be a whole number of days")
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        raise ValueError("must be a whole number of days") from None
    if not (math.isfinite(value) and value == int(value) and lo <= value <= hi):
        raise ValueError(f"must be a whole number of days from {lo} (keep forever) to {hi}")
    return int(value)


def enum_parser(kind: type[E]) -> Callable[[object], E]:
    def parse(raw: object) -> E:
        if isinstance(raw, str):
            for member in kind:
                if member.value == raw.strip().lower():
                    return member
        raise ValueError("must be one of " + ", ".join(str(m.value) for m in kind))

    return parse


def device_text(raw: object) -> str:
    # Not stripped: a device name must match what PortAudio reports, spaces included.
    if not isinstance(raw, str):
        raise ValueError("must be text")
    return raw


def show(value: object, limit: int = 60) -> str:
    """A short repr for messages; safe for any value (huge ints refuse repr())."""
    try:
        text = repr(value)
    except ValueError:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"
