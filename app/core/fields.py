"""Lenient field readers for JSON objects from the network: wrong types become defaults, never errors."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def text(obj: Mapping[str, Any], key: str, default: str = "") -> str:
    value = obj.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return default


def opt_text(obj: Mapping[str, Any], key: str) -> str | None:
    value = text(obj, key)
    return value or None


def opt_float(obj: Mapping[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def opt_int(obj: Mapping[str, Any], key: str) -> int | None:
    number = opt_float(obj, key)
    if number is None or abs(number) > 2**62:
        return None
    return int(number)


def opt_flag(obj: Mapping[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def flag(obj: Mapping[str, Any], key: str, default: bool) -> bool:
    value = opt_flag(obj, key)
    return default if value is None else value


def opt_mapping(obj: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else None


def objects(obj: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The objects in a list field; anything else in the list is skipped."""
    value = obj.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def texts(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """A list of strings, or a single string as a one-item tuple."""
    value = obj.get(key)
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()
