"""Endpoint policy: scheme by host, default port and path, /health URL, auth headers (CONTRACT.md 1)."""

from __future__ import annotations

import pytest

from app.core.endpoint import (
    DEFAULT_PATH,
    auth_headers,
    check_token_transport,
    parse_endpoint,
    sends_token_in_clear,
)
from app.errors import ConfigError


@pytest.mark.parametrize(
    ("typed", "ws_url", "health_url"),
    [
        ("127.0.0.1", "ws://127.0.0.1:8000/ws/live-listener", "http://127.0.0.1:8000/health"),
        ("localhost:9001", "ws://localhost:9001/ws/live-listener", "http://localhost:9001/health"),
        ("::1", "ws://[::1]:8000/ws/live-listener", "http://[::1]:8000/health"),
        ("[::1]:8123", "ws://[::1]:8123/ws/live-listener", "http://[::1]:8123/health"),
        (
            "echopanel.example.com",
            "wss://echopanel.example.com/ws/live-listener",
            "https://echopanel.example.com/health",
        ),
        ("10.0.0.5:8000", "wss://10.0.0.5:8000/ws/live-listener", "https://10.0.0.5:8000/health"),
        ("ws://10.0.0.5:8000", "ws://10.0.0.5:8000/ws/live-listener", "http://10.0.0.5:8000/health"),
        ("http://127.0.0.1:8000/", "ws://127.0.0.1:8000/ws/live-listener", "http://127.0.0.1:8000/health"),
        (
            "https://host.example/ep/ws/live-listener",
            "wss://host.example/ep/ws/live-listener",
            "https://host.example/ep/health",
        ),
        (
            "wss://host.example:8443/custom",
            "wss://host.example:8443/custom",
            "https://host.example:8443/health",
        ),
        ("  WS://LOCALHOST:8000  ", "ws://localhost:8000/ws/live-listener", "http://localhost:8000/health"),
    ],
)
def test_urls_follow_the_scheme_policy(typed: str, ws_url: str, health_url: str) -> None:
    endpoint = parse_endpoint(typed)
    assert endpoint.ws_url == ws_url
    assert endpoint.health_url == health_url


def test_local_hosts_are_plain_and_others_secure_by_default() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        assert parse_endpoint(host).secure is False
        assert parse_endpoint(host).is_local
    remote = parse_endpoint("192.168.1.20")
    assert remote.secure and not remote.is_local and remote.path == DEFAULT_PATH and remote.port == 443


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "ftp://host",
        "http://",
        "host name",
        "localhost:99999",
        "localhost:abc",
        "localhost:0",
        "ws://localhost:8000/ws?token=abc",
        "https://user:pw@host",
        "-bad-.host",
        "[::1",
    ],
)
def test_nonsense_is_a_clear_config_error(typed: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_endpoint(typed)
    assert str(info.value)  # a message a person can act on
    assert "Traceback" not in str(info.value)


def test_query_string_is_refused_so_the_token_never_travels_in_it() -> None:
    with pytest.raises(ConfigError, match="token"):
        parse_endpoint("wss://host.example/ws/live-listener?token=secret")


def test_auth_headers_carry_the_token_in_both_headers() -> None:
    assert auth_headers("s3cret") == (("Authorization", "Bearer s3cret"), ("x-echopanel-token", "s3cret"))
    assert auth_headers("") == ()
    assert auth_headers("  ") == ()
    with pytest.raises(ConfigError):
        auth_headers("bad\ntoken")


@pytest.mark.parametrize(("typed", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.3.4.5", True),
    ("[::ffff:127.0.0.1]", True), ("LOCALHOST", True), ("10.0.0.5", False), ("192.0.2.1", False),
    ("echopanel.example.com", False), ("localhost.example.com", False), ("0.0.0.0", False),
])
def test_loopback_is_decided_by_name_or_address_without_resolving(typed: str, loopback: bool) -> None:
    assert parse_endpoint(typed).is_loopback is loopback


@pytest.mark.parametrize("url", ["ws://10.0.0.5:8000", "http://echopanel.example.com", "ws://192.0.2.1"])
def test_a_token_in_clear_text_to_another_computer_is_refused_unless_allowed(url: str) -> None:
    endpoint = parse_endpoint(url)
    assert sends_token_in_clear(endpoint, "tok")
    with pytest.raises(ConfigError, match="Refusing to send the access token unencrypted") as info:
        check_token_transport(endpoint, "tok", allow_insecure=False)
    assert "wss://" in str(info.value) and "--allow-insecure" in str(info.value)
    check_token_transport(endpoint, "tok", allow_insecure=True)  # explicitly allowed: no error


@pytest.mark.parametrize(("url", "token"), [
    ("wss://10.0.0.5", "tok"), ("ws://127.0.0.1:8000", "tok"), ("ws://[::1]:8000", "tok"),
    ("ws://localhost", "tok"), ("ws://10.0.0.5", ""), ("ws://10.0.0.5", "   "),
])
def test_encrypted_local_or_tokenless_connections_are_fine(url: str, token: str) -> None:
    endpoint = parse_endpoint(url)
    assert not sends_token_in_clear(endpoint, token)
    check_token_transport(endpoint, token, allow_insecure=False)


@pytest.mark.parametrize(("typed", "host"), [
    ("wss://bücher.example", "xn--bcher-kva.example"),
    ("münchen.example:8443", "xn--mnchen-3ya.example"),
    ("wss://ÉCHO.example/ws/live-listener", "xn--cho-9la.example"),  # lower-cased first: écho
])
def test_internationalised_host_names_are_idna_encoded(typed: str, host: str) -> None:
    endpoint = parse_endpoint(typed)
    assert endpoint.host == host and endpoint.ws_url.isascii() and endpoint.health_url.isascii()


@pytest.mark.parametrize("typed", [
    f"ws://{'a' * 64}.example", "ws://a..example", "wss://" + f"{'b' * 60}." * 5 + "com",
])
def test_host_names_dns_cannot_carry_are_config_errors(typed: str) -> None:
    with pytest.raises(ConfigError, match="host name"):
        parse_endpoint(typed)
