"""Streaming, transcript, metrics, analysis, stop and bad input over loopback sockets (CONTRACT.md 3-4)."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from backend_wsclient import LiveClient, binary_frame, silence, tone

from app.backend.recording import read_recording
from app.core.messages import CardsEvent, EntitiesEvent, MetricsEvent
from app.core.protocol import decode_server

IDS = ("session_id", "attempt_id", "connection_id")
METRICS_FIELDS = {  # the real server's, extra keys included (CONTRACT.md 4.2 and 10)
    "type", "source", "queue_bytes", "queue_bytes_max", "queue_fill_ratio", "backlog_seconds",
    "max_backlog_seconds", "queue_depth", "queue_max_frames", "dropped_total", "dropped_recent",
    "dropped_chunks_last_10s", "avg_infer_ms", "avg_processing_ms", "realtime_factor", "provider",
    "model_id", "vad_enabled", "provider_health", "client_clock_drift_compensation_enabled",
    "client_vad_enabled", "client_clock_drift_telemetry_enabled", "client_vad_telemetry_enabled",
    "source_clock_spread_ms", "max_source_clock_spread_ms", "sources_active", "timestamp",
    "degrade_level", "degrade_level_num", "rtf_avg_10s", *IDS,
}
# One 2 s chunk with two speech regions (0.0-1.0 s and 1.5-2.0 s), then a 0.5 s silent remainder.
SPEECH = tone(1.0) + silence(0.5) + tone(0.5) + silence(0.5)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
async def test_happy_path(backend, binary: bool) -> None:
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(SPEECH, "mic", binary=binary)
    await client.wait_for(lambda m: m.get("type") == "metrics")
    summary = await client.stop()
    assert await client.wait_closed() == 1000

    finals = client.of_type("asr_final")
    assert [(f["t0"], f["t1"], f["source"]) for f in finals] == [(0.0, 1.0, "mic"), (1.5, 2.0, "mic")]
    assert finals[0]["text"] == "[simulated speech 1.00 s]"
    assert {"confidence", "stable", "language", "segment_id"} <= set(finals[0])
    assert len({f["segment_id"] for f in finals}) == 2

    metrics = client.of_type("metrics")[0]
    assert set(metrics) == METRICS_FIELDS
    assert (metrics["queue_bytes_max"], metrics["max_backlog_seconds"], metrics["queue_max_frames"]) == (
        64000, 2.0, 500)
    assert metrics["provider_health"] is None and metrics["sources_active"] == ["mic"]
    assert metrics["degrade_level"] == "NORMAL" and metrics["degrade_level_num"] == 0
    assert metrics["client_vad_enabled"] is True and metrics["dropped_chunks_last_10s"] == 0
    assert isinstance(decode_server(json.dumps(metrics)), MetricsEvent)

    data = summary["json"]
    keys = {"session_id", "transcript", "actions", "decisions", "risks", "entities", "diarization",
            "client_features", "clock_spread_ms", "recordings"}
    assert set(data) >= keys
    assert [s["text"] for s in data["transcript"]] == [f["text"] for f in finals]
    assert summary["markdown"].startswith("# Session summary")
    ids = [client.start_body[k] for k in IDS]
    after_start = client.messages[1:]
    assert all([m.get(k) for k in IDS] == ids for m in after_start)


async def test_time_restarts_at_zero_on_every_connection(backend) -> None:
    for _ in range(2):
        client = await LiveClient.open(backend.ws_url)
        await client.start()
        await client.send_audio(silence(0.3) + tone(0.5) + silence(0.4))
        await client.stop()
        assert [(f["t0"], f["t1"]) for f in client.of_type("asr_final")] == [(0.3, 0.8)]


async def test_two_sources_and_a_warning_for_every_frame_of_a_third(backend) -> None:
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(tone(0.4) + silence(0.4), "system")
    await client.send_audio(tone(0.6) + silence(0.4), "mic", binary=False)
    for _ in range(3):
        third = {"type": "audio", "source": "speaker", "data": base64.b64encode(bytes(640)).decode()}
        await client.ws.send(json.dumps(third))
    await client.wait_for(lambda m: m.get("type") == "metrics" and len(m["sources_active"]) == 2)
    await client.stop()
    warnings = [m for m in client.statuses("warning") if "third source" in m["message"]]
    assert len(warnings) == 3 and "'speaker'" in warnings[0]["message"]
    heard = sorted((f["source"], f["t1"]) for f in client.of_type("asr_final"))
    assert heard == [("mic", 0.6), ("system", 0.4)]


async def test_entities_and_cards_updates_are_well_formed(make_backend) -> None:
    backend = await make_backend(entities_interval=0.2, cards_interval=0.3)
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(tone(0.5) + silence(1.5))  # a whole chunk: a final before stop
    entities = await client.wait_for(lambda m: m.get("type") == "entities_update")
    cards = await client.wait_for(lambda m: m.get("type") == "cards_update")
    await client.stop()
    assert {"people", "orgs", "dates", "projects", "topics"} <= set(entities)
    assert {"actions", "decisions", "risks", "window"} <= set(cards)
    assert cards["window"]["segments"] == 1
    assert isinstance(decode_server(json.dumps(entities)), EntitiesEvent)
    assert isinstance(decode_server(json.dumps(cards)), CardsEvent)


async def test_stop_without_session_id_is_an_error_without_summary(backend) -> None:
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(tone(0.5) + silence(0.5))
    await client.ws.send('{"type": "stop"}')
    error = await client.wait_for(lambda m: m.get("type") == "error")
    assert "session_id" in error["message"]
    assert await client.wait_closed() == 1000
    assert not client.of_type("final_summary")


async def test_everything_after_stop_is_ignored_and_queued_audio_is_flushed(make_backend) -> None:
    backend = await make_backend(rtf=0.5)  # slow enough that audio is still queued at stop
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(tone(1.0), speed=None)  # the region is still open at stop
    await client.ws.send(json.dumps({"type": "stop", "session_id": client.session_id}))
    await client.send_audio(silence(0.5) + tone(1.0), speed=None)  # after stop: ignored
    summary = await client.wait_for(lambda m: m.get("type") == "final_summary")
    assert [(s["t0"], s["t1"]) for s in summary["json"]["transcript"]] == [(0.0, 1.0)]
    assert await client.wait_closed() == 1000


async def test_a_flush_that_takes_too_long_warns_and_still_summarises(make_backend) -> None:
    backend = await make_backend(rtf=3.0, flush_timeout=0.3)  # 2 s queued would take 6 s to flush
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(tone(0.2) + silence(0.4) + tone(1.4), speed=None)
    summary = await client.stop(timeout=5)
    warning = next(m for m in client.statuses("warning") if "flush" in m["message"])
    assert client.messages.index(warning) < client.messages.index(summary)
    assert await client.wait_closed() == 1000


async def test_a_second_start_and_unknown_types_only_warn(backend) -> None:
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.ws.send(json.dumps({"type": "start", "session_id": "again"}))
    await client.ws.send(json.dumps({"type": "voice_note", "data": "x"}))
    await client.send_audio(tone(0.3) + silence(0.4))
    await client.stop()
    messages = [m["message"] for m in client.statuses("warning")]
    assert any("second start" in m for m in messages) and any("voice_note" in m for m in messages)
    assert len(client.of_type("asr_final")) == 1


GARBAGE = {
    "binary_without_header": b"\x00\x01\x02garbage",
    "binary_unknown_version": b"EP\x02\x00" + bytes(640),
    "non_object_json": "[1, 2, 3]",
    "malformed_json": '{"type": "audio", ',
    "bad_base64": json.dumps({"type": "audio", "source": "mic", "data": "@@not base64@@"}),
    "oversize_frame": binary_frame(bytes(64_002)),
    "odd_length_frame": binary_frame(bytes(641)),
}


@pytest.mark.parametrize("name", list(GARBAGE))
async def test_garbage_gets_an_error_and_a_clean_close_while_others_keep_streaming(
    backend, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="app.backend")
    healthy = await LiveClient.open(backend.ws_url)
    await healthy.start()
    await healthy.send_audio(tone(0.3))
    bad = await LiveClient.open(backend.ws_url)
    await bad.start()
    await bad.ws.send(GARBAGE[name])
    error = await bad.wait_for(lambda m: m.get("type") == "error")
    assert error["message"] and error["session_id"] == bad.session_id
    assert await bad.wait_closed() == 1000
    await healthy.send_audio(silence(0.5))
    await healthy.stop()
    assert [(f["t0"], f["t1"]) for f in healthy.of_type("asr_final")] == [(0.0, 0.3)]
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert problems == []


async def test_garbage_before_start_is_also_an_error(backend) -> None:
    client = await LiveClient.open(backend.ws_url)
    await client.ws.send("null")
    assert (await client.wait_for(lambda m: m.get("type") == "error"))["message"]
    assert await client.wait_closed() == 1000


async def test_record_dir_holds_exactly_what_was_sent_and_processed(make_backend, tmp_path: Path) -> None:
    backend = await make_backend(record_dir=tmp_path)
    sent = {"system": tone(0.7, 300) + silence(0.5), "mic": silence(0.2) + tone(0.4, 500) + silence(0.4)}
    session_id = ""
    for conn in range(2):  # a reconnect: same session id, new connection
        client = await LiveClient.open(backend.ws_url)
        if session_id:
            client.session_id = session_id
        session_id = client.session_id
        await client.start()
        await client.send_audio(sent["system"], "system")
        await client.send_audio(sent["mic"], "mic", binary=bool(conn))
        await client.stop()
        assert await client.wait_closed() == 1000
    for source, pcm in sent.items():
        assert read_recording(tmp_path, session_id, source).tobytes() == pcm * 2
        assert read_recording(tmp_path, session_id, source, processed=True).tobytes() == pcm * 2
    assert len(list((tmp_path / session_id).iterdir())) == 2


async def test_a_vanished_client_leaves_finalised_recordings(make_backend, tmp_path: Path) -> None:
    backend = await make_backend(record_dir=tmp_path, max_sessions=1, capacity_wait_seconds=3.0)
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(tone(1.5))
    client.ws.transport.abort()  # no stop, no close handshake
    follower = await LiveClient.open(backend.ws_url)
    await follower.start()  # the slot was released
    await follower.stop()
    [wav] = list((tmp_path / client.session_id).glob("*/system.wav"))
    raw = wav.read_bytes()
    assert int.from_bytes(raw[40:44], "little") == len(raw) - 44 > 0  # header finalised on close


async def test_stopping_the_backend_closes_live_sockets_with_1012(make_backend, tmp_path: Path) -> None:
    """As the real server's shutdown (uvicorn): 1012 for every open socket, no summary."""
    backend = await make_backend(record_dir=tmp_path, rtf=0.5)
    client = await LiveClient.open(backend.ws_url)
    await client.start()
    await client.send_audio(tone(1.0), speed=None)
    waiting = await LiveClient.open(backend.ws_url)  # connected, never started
    await backend.stop()
    assert await client.wait_closed() == 1012 and await waiting.wait_closed() == 1012
    assert not client.of_type("final_summary") and not client.of_type("asr_final")
    [wav] = list((tmp_path / client.session_id).glob("*/system.wav"))
    raw = wav.read_bytes()
    assert int.from_bytes(raw[40:44], "little") == len(raw) - 44 == 32000
