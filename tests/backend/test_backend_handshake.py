"""Handshake, auth, health, capacity and model loading over real loopback sockets (CONTRACT.md 1-2)."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from backend_wsclient import LiveClient, http_get, silence, start_message, tone

from app.backend.recognizers import RecognizerStream, SimulatedRecognizer

TOKEN = "s3cret-token"
IDS = ("session_id", "attempt_id", "connection_id")


async def test_greeting_then_ack_with_correlation_ids(backend) -> None:
    client = await LiveClient.open(backend.ws_url)
    greeting = await client.wait_for(lambda m: True)
    assert greeting == {"type": "status", "state": "connected", "message": "Connected, waiting for start"}
    ack = await client.start()
    body = client.start_body
    assert ack["message"] == "Streaming"
    assert ack["client_features"] == body["client_features"]
    assert [ack[k] for k in IDS] == [body[k] for k in IDS]
    await client.close()


async def test_audio_before_start_is_ignored_and_never_acked(backend) -> None:
    client = await LiveClient.open(backend.ws_url)
    await client.send_audio(tone(1.0), speed=None)  # would be a final if it were used
    await client.wait_for(lambda m: m.get("state") == "warning")
    assert not client.statuses("streaming")
    await client.start()
    await client.send_audio(silence(0.5))
    summary = await client.stop()
    assert summary["json"]["transcript"] == [] and not client.of_type("asr_final")
    assert [m["state"] for m in client.of_type("status")][:3] == ["connected", "warning", "streaming"]
    assert "session_id" not in client.statuses("warning")[0]  # before start: no correlation ids


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"session_id": None}, "Invalid start message: "),
        ({"session_id": "x" * 257}, "Invalid start message: "),
        ({"session_id": 42}, "Invalid start message: "),
        ({"sample_rate": 44100}, "Unsupported audio format: "),
        ({"format": "opus"}, "Unsupported audio format: "),
        ({"channels": 2}, "Unsupported audio format: "),
    ],
)
async def test_bad_start_gets_an_error_then_close(backend, overrides, expected) -> None:
    client = await LiveClient.open(backend.ws_url)
    await client.ws.send(start_message(**{"session_id": "sid-1", **overrides}))
    error = await client.wait_for(lambda m: m.get("type") == "error")
    assert error["message"].startswith(expected)
    assert await client.wait_closed() == 1000
    assert not client.statuses("streaming")


async def test_stop_before_start_is_an_error(backend) -> None:
    client = await LiveClient.open(backend.ws_url)
    await client.ws.send('{"type": "stop", "session_id": "abc"}')
    error = await client.wait_for(lambda m: m.get("type") == "error")
    assert error["message"] == "Received stop before start"
    assert await client.wait_closed() == 1000


@pytest.mark.parametrize("headers", [None, {"Authorization": "Bearer wrong"}, {"x-echopanel-token": "wrong"},
                                     {"Authorization": TOKEN}])
async def test_unauthorized_websocket_is_accepted_told_and_closed_1008(make_backend, headers) -> None:
    backend = await make_backend(token=TOKEN)
    client = await LiveClient.open(backend.ws_url, headers)  # the upgrade itself succeeds
    assert await client.wait_closed() == 1008
    assert client.ws.close_reason == ""  # as the real server: no reason text
    assert client.messages == [
        {"type": "status", "state": "error", "message": "Unauthorized websocket connection"}
    ]


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {TOKEN}"}, {"x-echopanel-token": TOKEN},
                                     {"authorization": f"bearer {TOKEN}", "x-echopanel-token": "stale"}])
async def test_token_is_accepted_from_either_header(make_backend, headers) -> None:
    backend = await make_backend(token=TOKEN)
    status, body = await http_get(backend.http_url, headers=headers)
    assert status == 200 and body["status"] == "ok"
    client = await LiveClient.open(backend.ws_url, headers)
    await client.start()
    await client.stop()
    assert await client.wait_closed() == 1000


async def test_health_401_on_missing_or_bad_token(make_backend) -> None:
    backend = await make_backend(token=TOKEN)
    assert (await http_get(backend.http_url))[0] == 401
    assert (await http_get(backend.http_url, headers={"Authorization": "Bearer nope"}))[0] == 401
    assert (await http_get(backend.http_url, f"/health?token={TOKEN}"))[0] == 401  # never the query string


async def test_health_ok_and_unknown_paths(backend) -> None:
    status, body = await http_get(backend.http_url)
    assert status == 200
    assert body["status"] == "ok" and body["service"] == "echopanel" and body["model_ready"] is True
    assert (body["provider"], body["model"]) == ("simulated", "simulated-rtf")
    assert (await http_get(backend.http_url, "/nope"))[0] == 404


async def test_health_503_while_loading_and_start_waits_for_the_model(make_backend) -> None:
    gate = threading.Event()
    backend = await make_backend(recognizer_impl=SimulatedRecognizer(load_gate=gate))
    status, body = await http_get(backend.http_url)
    assert status == 503
    assert body["detail"]["status"] == "loading" and "simulated" in body["detail"]["reason"]
    client = await LiveClient.open(backend.ws_url)
    await client.ws.send(start_message(client.session_id))
    with pytest.raises(AssertionError, match="no matching message"):  # held while the model loads
        await client.wait_for(lambda m: m.get("state") == "streaming", timeout=0.5)
    gate.set()
    await client.wait_for(lambda m: m.get("state") == "streaming")
    assert (await http_get(backend.http_url))[0] == 200
    await client.stop()


class BrokenModel(SimulatedRecognizer):
    """A recognizer whose model file is unusable (a real model cannot be broken on purpose here)."""

    def load(self) -> None:
        raise RuntimeError("model file is corrupt")

    async def open_stream(self) -> RecognizerStream:
        raise AssertionError("no stream may be opened without a model")


async def test_failed_model_means_no_asr_provider_and_audio_discarded(make_backend) -> None:
    """As the real server without a recognizer: the socket stays, each source's first audio gets one
    no_asr_provider status, the audio is discarded, metrics still flow (without ladder fields)."""
    backend = await make_backend(recognizer_impl=BrokenModel())
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(tone(1.0) + silence(0.5))
    await client.send_audio(tone(0.5), "mic")
    notice = await client.wait_for(lambda m: m.get("state") == "no_asr_provider")
    assert "model file is corrupt" in notice["message"]
    metrics = await client.wait_for(lambda m: m.get("type") == "metrics")
    assert metrics["queue_bytes"] == 0 and "degrade_level" not in metrics
    summary = await client.stop()
    assert summary["json"]["transcript"] == []
    assert len(client.statuses("no_asr_provider")) == 2  # one per source
    assert await client.wait_closed() == 1000
    status, body = await http_get(backend.http_url)
    assert status == 503 and "corrupt" in body["detail"]["reason"]


async def test_capacity_refusal_after_the_wait(make_backend) -> None:
    backend = await make_backend(max_sessions=1, capacity_wait_seconds=0.3)
    first = await LiveClient.open(backend.ws_url)
    await first.start()
    second = await LiveClient.open(backend.ws_url)
    raw = start_message(second.session_id)
    sent = json.loads(raw)
    await second.ws.send(raw)
    refusal = await second.wait_for(lambda m: m.get("state") == "error")
    assert refusal["message"] == "Server at capacity, please try again later"
    assert [refusal[k] for k in IDS] == [sent[k] for k in IDS]
    assert await second.wait_closed() == 1000
    await first.stop()
    third = await LiveClient.open(backend.ws_url)  # the slot is free again
    await third.start()
    await third.stop()


async def test_a_waiting_session_gets_the_slot_when_it_frees(make_backend) -> None:
    backend = await make_backend(max_sessions=1, capacity_wait_seconds=5.0)
    first = await LiveClient.open(backend.ws_url)
    await first.start()
    second = await LiveClient.open(backend.ws_url)
    await second.ws.send(start_message(second.session_id))
    for _ in range(1000):  # until the second start waits for the slot (an event, not a sleep)
        _, body = await http_get(backend.http_url)
        if body["sessions_waiting"] == 1:
            break
        await asyncio.sleep(0.01)
    assert body["sessions_waiting"] == 1
    await first.close()  # a client vanishing without stop frees its slot too
    await second.wait_for(lambda m: m.get("state") == "streaming")
    _, body = await http_get(backend.http_url)
    assert body["sessions_active"] == 1
    await second.stop()


async def test_a_connection_that_never_starts_is_closed_after_the_start_timeout(make_backend) -> None:
    """What the client sees: the greeting, then an error naming the timeout, then close 1000.
    Audio before start does not keep the connection alive."""
    backend = await make_backend(start_timeout=0.5)
    client = await LiveClient.open(backend.ws_url)
    await client.send_audio(tone(0.2))
    assert await client.wait_closed(timeout=5) == 1000
    error = client.messages[-1]
    assert error == {"type": "error", "message": "No start message within 0.5 s: closing the connection"}
    assert [m.get("state") for m in client.messages[:2]] == ["connected", "warning"]


async def test_the_start_timeout_does_not_touch_a_started_session(make_backend) -> None:
    backend = await make_backend(start_timeout=0.3)
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await asyncio.sleep(0.6)
    await client.send_audio(tone(0.3) + silence(0.4))
    summary = await client.stop()
    assert len(summary["json"]["transcript"]) == 1 and await client.wait_closed() == 1000
