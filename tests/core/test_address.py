"""Strict backend address checks: typos are refused with what was meant, good addresses pass."""

from __future__ import annotations

import pytest

from app.core.address import address_problem
from app.core.endpoint import parse_endpoint


@pytest.mark.parametrize(("typed", "hint"), [
    ("http//127.0.0.1:8931", "did you mean “http://127.0.0.1:8931”"),
    ("ws//localhost:8000", "did you mean “ws://localhost:8000”"),
    ("https:/echo.example.com", "did you mean “https://echo.example.com”"),
    ("wss:echo.example.com", "did you mean “wss://echo.example.com”"),
    ("http;//10.0.0.2:8000", "did you mean “http://10.0.0.2:8000”"),
    ("http://http//127.0.0.1", "where the host name should be"),
    ("127.0.0.1:99999", "port"),
    ("127.0.0.1:80a", "port"),
    ("localhost:", "no port"),
    ("127.0.0.300:8000", "not a valid IPv4 address"),
    ("127.0.1:8000", "not a valid IPv4 address"),
    ("echo_panel.local", "not a valid host name"),
    ("-bad-.example.com", "not a valid host name"),
    ("wss://host//ws/live-listener", "doubled"),
    ("", "Enter the backend's address"),
])
def test_typos_are_refused_with_a_reason(typed: str, hint: str) -> None:
    assert hint in address_problem(typed)


@pytest.mark.parametrize("typed", [
    "127.0.0.1:8000", "localhost", "[::1]:8000", "::1", "wss://echopanel.example.com",
    "ws://192.168.1.20:8000/ws/live-listener", "https://host.example.com/prefix/ws/live-listener",
    "echopanel", "my-server.local:8000", "HTTP://LOCALHOST:8000",
])
def test_good_addresses_pass_and_parse(typed: str) -> None:
    assert address_problem(typed) == ""
    parse_endpoint(typed)  # and the endpoint policy accepts them too
