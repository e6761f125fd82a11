"""Schema migrations of the stored settings map, for ``app.core.settings``: ``migrate`` brings a flat
map (as ``QSettings`` hands it back) from any older schema version to ``SCHEMA_VERSION``, one step per
version, and reports what it changed or could not read as human sentences. Pure, no I/O.

To change the stored form: bump ``SCHEMA_VERSION``, add the step ``N -> N+1`` to ``MIGRATIONS`` (a test
checks there is one per version) and say in its docstring what the older version stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.settings_values import show

SCHEMA_VERSION = 2
SCHEMA_KEY = "schema_version"


def migrate(data: dict[Any, object], problems: list[str]) -> dict[Any, object]:
    """Bring ``data`` to SCHEMA_VERSION. No version means 0 (the oldest): migrations only rename
    keys that are present, so running them on newer data without a version is harmless."""
    raw = data.pop(SCHEMA_KEY, 0)
    try:
        version = parse_version(raw)
    except ValueError:
        problems.append(f"{SCHEMA_KEY} = {show(raw)} is not a version number; reading as version 0.")
        version = 0
    if version > SCHEMA_VERSION:
        problems.append(
            f"These settings were written by a newer version (schema {version}, this app reads "
            f"{SCHEMA_VERSION}); settings this version does not know are ignored."
        )
    for step in range(version, SCHEMA_VERSION):
        data = MIGRATIONS[step](data, problems)
    return data


def parse_version(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError(raw)
    value = int(raw) if isinstance(raw, int | str) and str(raw).strip().isdigit() else -1
    if value < 0:
        raise ValueError(raw)
    return value


def _v0_to_v1(data: dict[Any, object], problems: list[str]) -> dict[Any, object]:
    """Version 0 (the first previews) used server/url, audio/source ("microphone"/"all") and
    throttle/enabled, and stored the token in the file."""
    renames = {
        "server/url": "backend/url",
        "audio/source": "audio/sources",
        "throttle/enabled": "throttle/adaptive",
    }
    for old, new in renames.items():
        if old in data:
            value = data.pop(old)
            data.setdefault(new, value)
    old_sources = {"microphone": "mic", "all": "both"}
    source = data.get("audio/sources")
    if isinstance(source, str) and source.strip().lower() in old_sources:
        data["audio/sources"] = old_sources[source.strip().lower()]
    if data.pop("server/token", None):
        problems.append(
            "A backend token was found in the settings file and removed: tokens are kept in the system "
            "keyring now. Enter it again in Settings."
        )
    return data


def _v1_to_v2(data: dict[Any, object], problems: list[str]) -> dict[Any, object]:
    """Version 2 added backend/insecure_token_url, history/keep_days and history/record_audio; nothing
    to convert (the defaults fit older files). The version moved so that a version-1 app treats the
    new keys as a newer version's (kept) instead of stale ones (deleted)."""
    return data


MIGRATIONS: dict[int, Callable[[dict[Any, object], list[str]], dict[Any, object]]] = {
    0: _v0_to_v1, 1: _v1_to_v2,
}
"""Schema step N -> N+1; one entry per version below SCHEMA_VERSION (a test checks)."""
