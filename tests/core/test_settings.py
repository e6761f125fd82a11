"""Typed, versioned settings: defaults, validation, the flat storage form, migrations, leniency."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.endpoint import parse_endpoint
from app.core.messages import Source
from app.core.settings import (
    KNOWN_KEYS,
    SCHEMA_VERSION,
    AudioEncoding,
    DeviceRef,
    Settings,
    SourceSelection,
    needs_rewrite,
    settings_from_dict,
    settings_to_dict,
    stale_keys,
)
from app.core.settings_migrate import MIGRATIONS
from app.errors import ConfigError

CUSTOM = Settings(
    backend_url="wss://echo.example.com/ws/live-listener",
    insecure_token_url="ws://10.1.2.3:8000/ws/live-listener",
    audio_encoding=AudioEncoding.JSON,
    sources=SourceSelection.MIC,
    mic_device=DeviceRef("USB Headset: Audio (hw:2,0)", "ALSA"),
    system_device=DeviceRef("Monitor of Built-in Audio", ""),
    adaptive_throttling=False,  # not the default
    client_backlog_seconds=60.0,
    summary_timeout_seconds=5.0,
    start_minimized_to_tray=True,
    notify_on_overload=False,
    history_keep_days=90,
    record_audio=True,
)


def test_defaults() -> None:
    s = Settings()
    assert s.backend_url == ""
    assert s.uses_builtin_backend
    assert s.audio_encoding is AudioEncoding.AUTO
    assert s.sources is SourceSelection.BOTH
    assert (s.mic_device, s.system_device) == (None, None)
    assert s.adaptive_throttling is True  # on by default: never lost more speech than off (bench overload)
    assert (s.client_backlog_seconds, s.summary_timeout_seconds) == (120.0, 30.0)
    assert s.start_minimized_to_tray is False
    assert s.notify_on_overload is True
    assert not hasattr(s, "token"), "secrets go to the OS keyring, never into settings"


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().backend_url = "ws://x"  # type: ignore[misc]


def test_to_dict_is_flat_and_versioned() -> None:
    d = settings_to_dict(Settings())
    assert d == {
        "schema_version": SCHEMA_VERSION,
        "backend/url": "",
        "backend/insecure_token_url": "",
        "audio/encoding": "auto",
        "audio/sources": "both",
        "audio/mic_device": "",
        "audio/mic_host_api": "",
        "audio/system_device": "",
        "audio/system_host_api": "",
        "throttle/adaptive": True,
        "throttle/client_backlog_seconds": 120.0,
        "session/summary_timeout_seconds": 30.0,
        "ui/start_minimized_to_tray": False,
        "ui/notify_on_overload": True,
        "history/keep_days": 0,
        "history/record_audio": False,
    }
    assert set(d) == KNOWN_KEYS
    assert all(type(v) in (str, int, bool, float) for v in d.values())


def test_custom_example_differs_from_defaults_in_every_field() -> None:
    # So that the round trip below proves every field is stored and read back.
    for f in dataclasses.fields(Settings):
        assert getattr(CUSTOM, f.name) != getattr(Settings(), f.name), f.name


@pytest.mark.parametrize("s", [Settings(), CUSTOM])
def test_round_trip(s: Settings) -> None:
    assert settings_from_dict(settings_to_dict(s)) == (s, [])


def test_round_trip_through_strings_like_qsettings() -> None:
    # QSettings' INI backend hands every value back as a string.
    stored = settings_to_dict(CUSTOM)
    as_text = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in stored.items()}
    assert settings_from_dict(as_text) == (CUSTOM, [])


def test_empty_dict_is_defaults_without_problems() -> None:
    assert settings_from_dict({}) == (Settings(), [])


def test_missing_keys_keep_defaults() -> None:
    got, problems = settings_from_dict({"schema_version": 1, "throttle/adaptive": False})
    assert got == Settings(adaptive_throttling=False)
    assert problems == []


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("backend/url", "ftp://example.com", "must start with ws://"),
        ("backend/url", "ws://", "has no host name"),
        ("backend/url", "ws://exa mple.com", "must not contain spaces"),
        ("backend/url", "ws://[::1", "is not a valid URL"),
        ("backend/url", "ws://host:99999/", "is not a valid URL"),
        ("backend/url", "example.com", "must start with ws://"),
        ("backend/url", 42, "must be text"),
        ("audio/encoding", "protobuf", "must be one of auto, binary, json"),
        ("audio/encoding", None, "must be one of"),
        ("audio/sources", "speaker", "must be one of both, mic, system"),
        ("audio/sources", ["mic"], "must be one of"),
        ("throttle/adaptive", "maybe", "must be true or false"),
        ("throttle/adaptive", 2, "must be true or false"),
        ("throttle/client_backlog_seconds", 4.9, "between 5 and 300 seconds"),
        ("throttle/client_backlog_seconds", "301", "between 5 and 300 seconds"),
        ("throttle/client_backlog_seconds", math.nan, "between 5 and 300 seconds"),
        ("throttle/client_backlog_seconds", "thirty", "must be a number of seconds"),
        ("throttle/client_backlog_seconds", True, "must be a number of seconds"),
        ("session/summary_timeout_seconds", 0, "between 5 and 300 seconds"),
        ("session/summary_timeout_seconds", math.inf, "between 5 and 300 seconds"),
        ("ui/start_minimized_to_tray", "sometimes", "must be true or false"),
        ("ui/notify_on_overload", {}, "must be true or false"),
    ],
)
def test_invalid_value_is_reported_and_defaulted(key: str, value: object, why: str) -> None:
    stored = settings_to_dict(CUSTOM) | {key: value}
    got, problems = settings_from_dict(stored)
    assert len(problems) == 1, problems
    assert problems[0].startswith(key + " = ")
    assert why in problems[0]
    assert "using the default" in problems[0]
    name = {"backend/url": "backend_url", "audio/encoding": "audio_encoding", "audio/sources": "sources",
            "throttle/adaptive": "adaptive_throttling",
            "throttle/client_backlog_seconds": "client_backlog_seconds",
            "session/summary_timeout_seconds": "summary_timeout_seconds",
            "ui/start_minimized_to_tray": "start_minimized_to_tray",
            "ui/notify_on_overload": "notify_on_overload"}[key]
    assert got == dataclasses.replace(CUSTOM, **{name: getattr(Settings(), name)})


@pytest.mark.parametrize("key", ["audio/mic_device", "audio/mic_host_api"])
def test_invalid_device_is_reported_and_defaulted(key: str) -> None:
    got, problems = settings_from_dict(settings_to_dict(CUSTOM) | {key: 5})
    assert got == dataclasses.replace(CUSTOM, mic_device=None)
    assert problems == [
        "audio/mic_device / audio/mic_host_api must be text; using the system default device."
    ]


def test_blank_device_name_means_default() -> None:
    got, problems = settings_from_dict({"audio/system_device": "  ", "audio/system_host_api": "ALSA"})
    assert (got.system_device, problems) == (None, [])


def test_device_name_is_kept_exactly() -> None:
    got, _ = settings_from_dict({"audio/mic_device": " Mic 1 ", "audio/mic_host_api": "PulseAudio"})
    assert got.mic_device == DeviceRef(" Mic 1 ", "PulseAudio")


def test_every_invalid_value_at_once() -> None:
    stored: dict[str, object] = {
        "backend/url": "gopher://x", "audio/encoding": 1, "audio/sources": "all the things",
        "throttle/adaptive": "perhaps", "throttle/client_backlog_seconds": -1,
        "session/summary_timeout_seconds": 1e9, "ui/start_minimized_to_tray": None,
        "ui/notify_on_overload": 3.5, "audio/mic_device": [], "schema_version": 1,
    }
    got, problems = settings_from_dict(stored)
    assert got == Settings()
    assert len(problems) == 9
    assert len({p.split(" ", 1)[0] for p in problems}) == 9


def test_unknown_keys_are_reported_but_ui_state_is_not() -> None:
    got, problems = settings_from_dict({"schema_version": 1, "audio/gain": 3, "window/geometry": "AdnQyw==",
                                        "window/splitter": b"\x00"})
    assert got == Settings()
    assert problems == ["Unknown setting 'audio/gain' ignored."]


def test_problem_text_is_short_for_huge_values() -> None:
    _, problems = settings_from_dict({"backend/url": "x" * 10_000, "audio/encoding": 10**5000})
    assert len(problems) == 2
    assert all(len(p) < 250 for p in problems)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("backend_url", "mailto:someone", "backend_url"),
        ("audio_encoding", "xml", "must be one of auto, binary, json"),
        ("sources", "mics", "must be one of both, mic, system"),
        ("client_backlog_seconds", 4, "between 5 and 300 seconds"),
        ("summary_timeout_seconds", 301, "between 5 and 300 seconds"),
        ("adaptive_throttling", "yes please", "true or false"),
        ("mic_device", "USB Mic", "DeviceRef or None"),
    ],
)
def test_constructor_validates_with_clear_message(field: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings(**{field: value})


def test_constructor_normalises() -> None:
    s = Settings(backend_url="  ws://127.0.0.1:8000/ws/live-listener ", audio_encoding="JSON",  # type: ignore[arg-type]
                 sources="mic", client_backlog_seconds=60)  # type: ignore[arg-type]
    assert s.backend_url == "ws://127.0.0.1:8000/ws/live-listener"
    assert s.audio_encoding is AudioEncoding.JSON
    assert s.sources is SourceSelection.MIC
    assert type(s.client_backlog_seconds) is float


def test_replace_validates() -> None:
    with pytest.raises(ConfigError):
        dataclasses.replace(Settings(), summary_timeout_seconds=1)


def test_device_ref_needs_a_name() -> None:
    with pytest.raises(ConfigError, match="needs a name"):
        DeviceRef("")
    assert DeviceRef("Mic").host_api == ""


@pytest.mark.parametrize(
    ("encoding", "host", "binary"),
    [("auto", "127.0.0.1", True), ("auto", "localhost", True), ("auto", "LOCALHOST", True),
     ("auto", "[::1]", True), ("auto", "::1", True), ("auto", "echo.example.com", False),
     ("auto", "192.168.1.5", False),
     ("binary", "echo.example.com", True), ("json", "127.0.0.1", False)],
)
def test_audio_encoding_auto_is_binary_only_for_local_hosts(encoding: str, host: str, binary: bool) -> None:
    assert AudioEncoding(encoding).is_binary(parse_endpoint(host).is_local) is binary


def test_source_selection_lists_sources() -> None:
    assert SourceSelection.BOTH.sources == (Source.SYSTEM, Source.MIC)
    assert SourceSelection.MIC.sources == (Source.MIC,)
    assert SourceSelection.SYSTEM.sources == (Source.SYSTEM,)


# --------------------------------------------------------------------------- versions and migration


def test_one_migration_per_schema_step() -> None:
    assert sorted(MIGRATIONS) == list(range(SCHEMA_VERSION))


def test_migrates_v0_keys_and_values() -> None:
    v0 = {"schema_version": "0", "server/url": "wss://old.example.com/ws/live-listener",
          "audio/source": "microphone", "throttle/enabled": "false", "ui/notify_on_overload": "false"}
    got, problems = settings_from_dict(v0)
    assert got == Settings(backend_url="wss://old.example.com/ws/live-listener", sources=SourceSelection.MIC,
                           adaptive_throttling=False, notify_on_overload=False)
    assert problems == []


def test_v0_without_version_is_migrated() -> None:
    url = "ws://127.0.0.1:8000/ws/live-listener"
    got, problems = settings_from_dict({"server/url": url, "audio/source": "all"})
    assert (got.backend_url, got.sources, problems) == (url, SourceSelection.BOTH, [])


def test_v0_token_is_dropped_with_a_message() -> None:
    got, problems = settings_from_dict({"schema_version": 0, "server/token": "s3cret"})
    assert got == Settings()
    assert len(problems) == 1
    assert "keyring" in problems[0]
    assert "s3cret" not in problems[0]


def test_migration_keeps_a_newer_key_over_an_old_one() -> None:
    got, _ = settings_from_dict({"server/url": "ws://old.example/ws", "backend/url": "ws://new.example/ws"})
    assert got.backend_url == "ws://new.example/ws"


def test_v1_data_keeps_its_keys_and_gains_no_permission() -> None:
    got, problems = settings_from_dict({"schema_version": 1, "server/url": "ws://old.example/ws"})
    assert got.insecure_token_url == ""
    assert got.backend_url == ""
    assert problems == ["Unknown setting 'server/url' ignored."]


def test_newer_schema_is_read_with_a_warning() -> None:
    got, problems = settings_from_dict({"schema_version": SCHEMA_VERSION + 1, "throttle/adaptive": False,
                                        "fancy/new": 1})
    assert got.adaptive_throttling is False
    assert any("newer version" in p for p in problems)
    assert "Unknown setting 'fancy/new' ignored." in problems


@pytest.mark.parametrize("version", ["one", -1, 1.5, None, True, "²"])
def test_bad_schema_version_is_reported(version: object) -> None:
    got, problems = settings_from_dict({"schema_version": version, "audio/source": "microphone"})
    assert got.sources is SourceSelection.MIC  # read as version 0, so migrated
    assert len(problems) == 1
    assert problems[0].startswith("schema_version = ")


def test_stale_keys_are_what_the_migration_left_behind_but_never_window_state() -> None:
    v0 = {"server/url": "ws://h/ws", "server/token": "s3cret", "window/geometry": b"..", "oops": 1}
    assert stale_keys(v0) == ["oops", "server/token", "server/url"]
    assert needs_rewrite(v0)
    current = {**settings_to_dict(CUSTOM), "window/geometry": b".."}
    assert stale_keys(current) == [] and not needs_rewrite(current)
    assert stale_keys({**current, "server/token": "x"}) == ["server/token"]
    assert needs_rewrite({**current, "server/token": "x"})


def test_only_older_or_unreadable_versions_need_a_rewrite() -> None:
    current = settings_to_dict(Settings())
    assert needs_rewrite({**current, "schema_version": 0})
    assert needs_rewrite({**current, "schema_version": "bogus"})
    assert not needs_rewrite({})  # a first start writes no file


def test_a_newer_versions_keys_are_not_stale() -> None:
    newer = {**settings_to_dict(Settings()), "schema_version": SCHEMA_VERSION + 1, "fancy/new": 1}
    assert stale_keys(newer) == []
    assert not needs_rewrite(newer)


# --------------------------------------------------------------------------- leniency, property-based

values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**5000), max_value=10**5000) | st.floats()
    | st.text(max_size=30) | st.binary(max_size=8)
    | st.sampled_from(["true", "no", "30", "5", "300", "auto", "JSON", "mic", "ws://h", "wss://[::1]:1/x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(sorted(KNOWN_KEYS | {"server/url", "audio/source", "throttle/enabled", "server/token",
                                            "window/geometry"})) | st.text(max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=16))
def test_arbitrary_dicts_never_raise(d: dict[str, object]) -> None:
    got, problems = settings_from_dict(d)
    assert isinstance(got, Settings)
    assert all(isinstance(p, str) and p for p in problems)
    # Whatever was read is valid and survives its own round trip.
    assert settings_from_dict(settings_to_dict(got)) == (got, [])
    # What a rewrite leaves (the stale keys gone, every key written) reads back without problems.
    cleaned = {k: v for k, v in d.items() if k not in stale_keys(d)}
    if not any("newer version" in p for p in problems):
        assert not needs_rewrite({**cleaned, **settings_to_dict(got)})


def test_the_insecure_token_permission_is_for_one_backend_only() -> None:
    from app.core.endpoint import parse_endpoint

    allowed = Settings(backend_url="ws://10.1.2.3:8000", insecure_token_url="ws://10.1.2.3:8000")
    assert allowed.allows_insecure_token(parse_endpoint("ws://10.1.2.3:8000/ws/live-listener"))
    assert not allowed.allows_insecure_token(parse_endpoint("ws://10.1.2.4:8000"))
    assert not Settings().allows_insecure_token(parse_endpoint("ws://10.1.2.3:8000"))


@pytest.mark.parametrize(("raw", "days"), [("30", 30), (0, 0), (365.0, 365), ("3650", 3650)])
def test_history_keep_days_reads_whole_days(raw: object, days: int) -> None:
    settings, problems = settings_from_dict({"history/keep_days": raw})
    assert settings.history_keep_days == days and problems == []


@pytest.mark.parametrize("raw", ["-1", "2.5", "forever", True, "99999"])
def test_bad_history_keep_days_fall_back_to_forever_with_a_reason(raw: object) -> None:
    settings, problems = settings_from_dict({"history/keep_days": raw})
    assert settings.history_keep_days == 0
    assert len(problems) == 1 and "history/keep_days" in problems[0] and "days" in problems[0]
