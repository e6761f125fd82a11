"""The reference backend's logs never contain a client's token, debug level included (the websockets
library logs every request header at debug level, and request paths with their query string)."""

from __future__ import annotations

import logging

import pytest
from backend_wsclient import LiveClient, http_get

from app.backend.logsafety import REDACTED, RedactSecrets, redact

TOKEN = "tok-3f9a1c5e77"
WRONG = "guess-b41d02aa"


@pytest.mark.parametrize("line", [
    f"< Authorization: Bearer {TOKEN}",
    f"< x-echopanel-token: {TOKEN}",
    f"< X-EchoPanel-Token:{TOKEN}",
    f"< GET /health?token={TOKEN} HTTP/1.1",
    f"< GET /ws/live-listener?a=1&token={TOKEN}&b=2 HTTP/1.1",
    f"headers: [('Authorization', 'Bearer {TOKEN}')]",
    f"the token is {TOKEN}, said nobody",
])
def test_redact_hides_header_values_bearer_credentials_query_tokens_and_the_secret(line: str) -> None:
    clean = redact(line, [TOKEN])
    assert TOKEN not in clean and REDACTED in clean


def test_redact_leaves_other_text_alone() -> None:
    text = "< Host: 127.0.0.1:8000\n< Upgrade: websocket"
    assert redact(text, [TOKEN]) == text


def test_the_filter_rewrites_arguments_and_tracebacks() -> None:
    record = logging.LogRecord("app.backend.x", logging.ERROR, __file__, 1, "< %s: %s",
                               ("Authorization", f"Bearer {TOKEN}"), None)
    try:
        raise ValueError(f"bad header x-echopanel-token: {TOKEN}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactSecrets([TOKEN]).filter(record)
    assert TOKEN not in record.getMessage() and TOKEN not in (record.exc_text or "")


async def test_debug_logs_of_a_whole_session_never_contain_a_token(
    make_backend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = await make_backend(token=TOKEN)
    good = {"Authorization": f"Bearer {TOKEN}", "x-echopanel-token": TOKEN}
    client = await LiveClient.open(backend.ws_url, good)
    await client.start()
    await client.stop()
    intruder = await LiveClient.open(backend.ws_url, {"Authorization": f"Bearer {WRONG}",
                                                      "x-echopanel-token": WRONG})
    assert await intruder.wait_closed() == 1008
    assert (await http_get(backend.http_url, headers={"x-echopanel-token": TOKEN}))[0] == 200
    assert (await http_get(backend.http_url, f"/health?token={TOKEN}"))[0] == 401
    assert (await http_get(backend.http_url, headers={"Authorization": f"Bearer {WRONG}"}))[0] == 401
    # the backend's records only: this test's own client (websockets.client) logs what it sends
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
                       if r.name.startswith("app.backend"))
    assert "< GET /health" in logged, "the websockets debug lines were not captured"
    assert TOKEN not in logged and WRONG not in logged
    assert f"Authorization: {REDACTED}" in logged or f"authorization: {REDACTED}" in logged.lower()


async def test_the_filter_is_removed_when_the_backend_stops(make_backend) -> None:
    backend = await make_backend(token=TOKEN)
    logger = logging.getLogger("app.backend.websockets")
    assert any(isinstance(f, RedactSecrets) for f in logger.filters)
    await backend.stop()
    assert not any(isinstance(f, RedactSecrets) for f in logger.filters)
