"""Typed, versioned user settings (STYLE guideline 10, after MusicBrainz Picard).

``Settings`` is a frozen dataclass with defaults that validates itself on construction (a bad value
raises ``ConfigError`` with a what-to-do text). Storage is somebody else's job: the UI edge keeps a
flat ``QSettings`` map, and these two pure functions are the only translation:

- ``settings_to_dict(s)``: flat keys (``"backend/url"``, ``"audio/encoding"``, ...) plus
  ``"schema_version"``, values ``str | int | bool | float``.
- ``settings_from_dict(d)``: lenient. It migrates older schema versions, then reads every known key;
  a value it cannot use falls back to the default and is reported as one human sentence. It never
  raises, whatever the mapping holds (QSettings hands back strings such as ``"true"`` and ``"30"``).

Keys under ``UI_STATE_PREFIX`` ("window/") belong to the UI (geometry, splitters): ignored here.
There is deliberately no token: secrets live in the OS keyring, never in a settings file.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from app.core.messages import Source
from app.errors import ConfigError

SCHEMA_VERSION = 1
SCHEMA_KEY = "schema_version"
UI_STATE_PREFIX = "window/"
SECONDS_RANGE = (5.0, 300.0)  # client backlog and summary wait
URL_SCHEMES = ("ws", "wss", "http", "https")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})  # CONTRACT.md section 1

SettingValue = str | int | bool | float
E = TypeVar("E", bound=enum.Enum)


class AudioEncoding(enum.StrEnum):
    AUTO = "auto"  # binary for local hosts, JSON otherwise
    BINARY = "binary"
    JSON = "json"


class SourceSelection(enum.StrEnum):
    BOTH = "both"
    MIC = "mic"
    SYSTEM = "system"

    @property
    def sources(self) -> tuple[Source, ...]:
        if self is SourceSelection.BOTH:
            return (Source.SYSTEM, Source.MIC)
        return (Source.MIC,) if self is SourceSelection.MIC else (Source.SYSTEM,)


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """An audio device by name and host API (never by index: indexes change when devices come and go).

    ``host_api`` "" matches any host API.
    """

    name: str
    host_api: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("A device needs a name; leave the device unset to use the system default.")
        if not isinstance(self.host_api, str):
            raise ConfigError("A device's host API must be text (or empty for any).")


# --------------------------------------------------------------------------- value parsers
# Each takes whatever storage gave back and returns the typed value or raises ValueError("<why>").


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


def _enum_parser(kind: type[E]) -> Callable[[object], E]:
    def parse(raw: object) -> E:
        if isinstance(raw, str):
            for member in kind:
                if member.value == raw.strip().lower():
                    return member
        raise ValueError("must be one of " + ", ".join(str(m.value) for m in kind))

    return parse


def _device_text(raw: object) -> str:
    # Not stripped: a device name must match what PortAudio reports, spaces included.
    if not isinstance(raw, str):
        raise ValueError("must be text")
    return raw


# --------------------------------------------------------------------------- the settings


@dataclass(frozen=True, slots=True)
class Settings:
    backend_url: str = ""  # "" = the built-in reference backend
    audio_encoding: AudioEncoding = AudioEncoding.AUTO
    sources: SourceSelection = SourceSelection.BOTH
    mic_device: DeviceRef | None = None  # None = the system default
    system_device: DeviceRef | None = None
    adaptive_throttling: bool = False
    client_backlog_seconds: float = 30.0  # the client's own bounded buffer per source
    summary_timeout_seconds: float = 30.0  # how long to wait for final_summary after stop
    start_minimized_to_tray: bool = False
    notify_on_overload: bool = True

    def __post_init__(self) -> None:
        """Validate and normalise (strings to enums, ints to floats); raise ``ConfigError`` if invalid."""
        for name, parse in _PARSERS.items():
            raw = getattr(self, name)
            try:
                object.__setattr__(self, name, parse(raw))
            except ValueError as exc:
                raise ConfigError(f"Setting {name} = {_show(raw)} {exc}.") from None
        for name in ("mic_device", "system_device"):
            if not isinstance(getattr(self, name), DeviceRef | None):
                raise ConfigError(f"Setting {name} must be a DeviceRef or None (the system default).")

    @property
    def uses_builtin_backend(self) -> bool:
        return not self.backend_url

    def uses_binary_audio(self, host: str) -> bool:
        """The audio encoding for a backend on ``host``: ``auto`` = binary for local hosts only."""
        if self.audio_encoding is AudioEncoding.AUTO:
            return host.strip("[]").lower() in LOCAL_HOSTS
        return self.audio_encoding is AudioEncoding.BINARY


_PARSERS: dict[str, Callable[[object], Any]] = {
    "backend_url": parse_url,
    "audio_encoding": _enum_parser(AudioEncoding),
    "sources": _enum_parser(SourceSelection),
    "adaptive_throttling": parse_bool,
    "client_backlog_seconds": parse_seconds,
    "summary_timeout_seconds": parse_seconds,
    "start_minimized_to_tray": parse_bool,
    "notify_on_overload": parse_bool,
}
_SCALAR_KEYS = {  # storage key -> field name
    "backend/url": "backend_url",
    "audio/encoding": "audio_encoding",
    "audio/sources": "sources",
    "throttle/adaptive": "adaptive_throttling",
    "throttle/client_backlog_seconds": "client_backlog_seconds",
    "session/summary_timeout_seconds": "summary_timeout_seconds",
    "ui/start_minimized_to_tray": "start_minimized_to_tray",
    "ui/notify_on_overload": "notify_on_overload",
}
_DEVICE_KEYS = {  # field name -> (name key, host API key)
    "mic_device": ("audio/mic_device", "audio/mic_host_api"),
    "system_device": ("audio/system_device", "audio/system_host_api"),
}
KNOWN_KEYS = frozenset({SCHEMA_KEY, *_SCALAR_KEYS, *(k for pair in _DEVICE_KEYS.values() for k in pair)})
DEFAULTS = Settings()


def settings_to_dict(s: Settings) -> dict[str, SettingValue]:
    """The flat storage form; ``settings_from_dict(settings_to_dict(s)) == (s, [])``."""
    out: dict[str, SettingValue] = {SCHEMA_KEY: SCHEMA_VERSION}
    for key, name in _SCALAR_KEYS.items():
        value = getattr(s, name)
        out[key] = value.value if isinstance(value, enum.Enum) else value
    for name, (name_key, api_key) in _DEVICE_KEYS.items():
        device: DeviceRef | None = getattr(s, name)
        out[name_key] = device.name if device else ""
        out[api_key] = device.host_api if device else ""
    return out


def settings_from_dict(d: Mapping[str, object]) -> tuple[Settings, list[str]]:
    """Read stored settings leniently: (settings, problems). Never raises."""
    problems: list[str] = []
    data = _migrate(dict(d), problems)
    values: dict[str, Any] = {}
    for key, name in _SCALAR_KEYS.items():
        if key in data:
            try:
                values[name] = _PARSERS[name](data[key])
            except ValueError as exc:
                default = _show(_default(name))
                problems.append(f"{key} = {_show(data[key])} {exc}; using the default {default}.")
    for name, keys in _DEVICE_KEYS.items():
        values[name] = _read_device(data, *keys, problems)
    for key in sorted(data, key=str):
        if key not in KNOWN_KEYS and not (isinstance(key, str) and key.startswith(UI_STATE_PREFIX)):
            problems.append(f"Unknown setting {_show(key)} ignored.")
    return Settings(**values), problems


def stale_keys(d: Mapping[str, object]) -> list[str]:
    """Stored keys this version neither reads nor writes and the UI does not own (``window/``): left by
    older versions (v0's ``server/token``) or typed in by hand. The storage edge deletes them on save,
    so a migration's removals reach the file and the "unknown setting" warning is shown once.

    Empty for data a newer version wrote: its extra keys are its own and must survive a run of this one.
    """
    if stored_version(d) > SCHEMA_VERSION:
        return []
    return sorted(str(k) for k in d if k not in KNOWN_KEYS and not str(k).startswith(UI_STATE_PREFIX))


def needs_rewrite(d: Mapping[str, object]) -> bool:
    """Whether stored settings should be saved again right after loading: an older (or unreadable)
    schema version, or stale keys. Never for nothing stored (a first start keeps no file) nor for a newer
    version's data, which this one must not rewrite."""
    version = stored_version(d)
    if not d or version > SCHEMA_VERSION:
        return False
    return version < SCHEMA_VERSION or bool(stale_keys(d))


def stored_version(d: Mapping[str, object]) -> int:
    """The schema version ``d`` says it has: 0 when absent, -1 when unreadable."""
    try:
        return parse_version(d.get(SCHEMA_KEY, 0))
    except ValueError:
        return -1


def _read_device(
    data: Mapping[str, object], name_key: str, api_key: str, problems: list[str]
) -> DeviceRef | None:
    try:
        name = _device_text(data.get(name_key, ""))
        host_api = _device_text(data.get(api_key, ""))
    except ValueError as exc:
        problems.append(f"{name_key} / {api_key} {exc}; using the system default device.")
        return None
    return DeviceRef(name, host_api) if name.strip() else None


def _default(name: str) -> object:
    value = getattr(DEFAULTS, name)
    return value.value if isinstance(value, enum.Enum) else value


def _show(value: object, limit: int = 60) -> str:
    """A short repr for messages; safe for any value (huge ints refuse repr())."""
    try:
        text = repr(value)
    except ValueError:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- migrations


def _migrate(data: dict[Any, object], problems: list[str]) -> dict[Any, object]:
    """Bring ``data`` to SCHEMA_VERSION. No version means 0 (the oldest): migrations only rename
    keys that are present, so running them on newer data without a version is harmless."""
    raw = data.pop(SCHEMA_KEY, 0)
    try:
        version = parse_version(raw)
    except ValueError:
        problems.append(f"{SCHEMA_KEY} = {_show(raw)} is not a version number; reading as version 0.")
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


MIGRATIONS: dict[int, Callable[[dict[Any, object], list[str]], dict[Any, object]]] = {0: _v0_to_v1}
"""Schema step N -> N+1; one entry per version below SCHEMA_VERSION (a test checks)."""
