"""Typed, versioned user settings (STYLE guideline 10, after MusicBrainz Picard).

``Settings`` is a frozen dataclass with defaults that validates itself on construction (a bad value
raises ``ConfigError`` with a what-to-do text; the value parsers are ``app.core.settings_values``).
Storage is somebody else's job: the UI edge keeps a flat ``QSettings`` map, and these two pure
functions are the only translation:

- ``settings_to_dict(s)``: flat keys (``"backend/url"``, ``"audio/encoding"``, ...) plus
  ``"schema_version"``, values ``str | int | bool | float``.
- ``settings_from_dict(d)``: lenient. It migrates older schema versions (``app.core.settings_migrate``),
  then reads every known key; a value it cannot use falls back to the default and is reported as one
  human sentence. It never raises, whatever the mapping holds (QSettings hands back strings such as
  ``"true"`` and ``"30"``).

Keys under ``UI_STATE_PREFIX`` ("window/") belong to the UI (geometry, splitters): ignored here.
There is deliberately no token: secrets live in the OS keyring, never in a settings file.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.endpoint import Endpoint, parse_endpoint
from app.core.messages import Source
from app.core.settings_migrate import SCHEMA_KEY, SCHEMA_VERSION, migrate, parse_version
from app.core.settings_values import (
    device_text,
    enum_parser,
    parse_bool,
    parse_days,
    parse_seconds,
    parse_url,
    show,
)
from app.errors import ConfigError

UI_STATE_PREFIX = "window/"

SettingValue = str | int | bool | float


class AudioEncoding(enum.StrEnum):
    AUTO = "auto"  # binary for local hosts, JSON otherwise
    BINARY = "binary"
    JSON = "json"

    def is_binary(self, local_host: bool) -> bool:
        """Whether audio goes out as binary frames to a backend on a loopback host (``local_host``) or not."""
        return local_host if self is AudioEncoding.AUTO else self is AudioEncoding.BINARY


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


# --------------------------------------------------------------------------- the settings


@dataclass(frozen=True, slots=True)
class Settings:
    backend_url: str = ""  # "" = the built-in reference backend
    # The one backend URL the user allowed to receive the token unencrypted (ws:// to another computer);
    # "" = none. Kept as a URL, not a flag, so that changing the backend withdraws the permission.
    insecure_token_url: str = ""
    audio_encoding: AudioEncoding = AudioEncoding.AUTO
    sources: SourceSelection = SourceSelection.BOTH
    mic_device: DeviceRef | None = None  # None = the system default
    system_device: DeviceRef | None = None
    adaptive_throttling: bool = True  # on: it never lost more speech than off (README, the overload bench)
    client_backlog_seconds: float = 120.0  # the client's own bounded hold per source
    summary_timeout_seconds: float = 30.0  # how long to wait for final_summary after stop
    start_minimized_to_tray: bool = False
    notify_on_overload: bool = True
    history_keep_days: int = 0  # meetings older than this are deleted at start-up; 0 = keep forever
    record_audio: bool = False  # keep each meeting's audio beside it (about 115 MB per hour per source)

    def __post_init__(self) -> None:
        """Validate and normalise (strings to enums, ints to floats); raise ``ConfigError`` if invalid."""
        for name, parse in _PARSERS.items():
            raw = getattr(self, name)
            try:
                object.__setattr__(self, name, parse(raw))
            except ValueError as exc:
                raise ConfigError(f"Setting {name} = {show(raw)} {exc}.") from None
        for name in ("mic_device", "system_device"):
            if not isinstance(getattr(self, name), DeviceRef | None):
                raise ConfigError(f"Setting {name} must be a DeviceRef or None (the system default).")

    @property
    def uses_builtin_backend(self) -> bool:
        return not self.backend_url

    def allows_insecure_token(self, endpoint: Endpoint) -> bool:
        """Whether the user allowed sending the token unencrypted to exactly this backend."""
        if not self.insecure_token_url:
            return False
        try:
            return parse_endpoint(self.insecure_token_url) == endpoint
        except ConfigError:
            return False


_PARSERS: dict[str, Callable[[object], Any]] = {
    "backend_url": parse_url,
    "insecure_token_url": parse_url,
    "audio_encoding": enum_parser(AudioEncoding),
    "sources": enum_parser(SourceSelection),
    "adaptive_throttling": parse_bool,
    "client_backlog_seconds": parse_seconds,
    "summary_timeout_seconds": parse_seconds,
    "start_minimized_to_tray": parse_bool,
    "notify_on_overload": parse_bool,
    "history_keep_days": parse_days,
    "record_audio": parse_bool,
}
_SCALAR_KEYS = {  # storage key -> field name
    "backend/url": "backend_url",
    "backend/insecure_token_url": "insecure_token_url",
    "audio/encoding": "audio_encoding",
    "audio/sources": "sources",
    "throttle/adaptive": "adaptive_throttling",
    "throttle/client_backlog_seconds": "client_backlog_seconds",
    "session/summary_timeout_seconds": "summary_timeout_seconds",
    "ui/start_minimized_to_tray": "start_minimized_to_tray",
    "ui/notify_on_overload": "notify_on_overload",
    "history/keep_days": "history_keep_days",
    "history/record_audio": "record_audio",
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
    data = migrate(dict(d), problems)
    values: dict[str, Any] = {}
    for key, name in _SCALAR_KEYS.items():
        if key in data:
            try:
                values[name] = _PARSERS[name](data[key])
            except ValueError as exc:
                default = show(_default(name))
                problems.append(f"{key} = {show(data[key])} {exc}; using the default {default}.")
    for name, keys in _DEVICE_KEYS.items():
        values[name] = _read_device(data, *keys, problems)
    for key in sorted(data, key=str):
        if key not in KNOWN_KEYS and not (isinstance(key, str) and key.startswith(UI_STATE_PREFIX)):
            problems.append(f"Unknown setting {show(key)} ignored.")
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
        name = device_text(data.get(name_key, ""))
        host_api = device_text(data.get(api_key, ""))
    except ValueError as exc:
        problems.append(f"{name_key} / {api_key} {exc}; using the system default device.")
        return None
    return DeviceRef(name, host_api) if name.strip() else None


def _default(name: str) -> object:
    value = getattr(DEFAULTS, name)
    return value.value if isinstance(value, enum.Enum) else value
