"""The sans-I/O protocol codec against CONTRACT.md sections 2-4: exact encodings, lenient decoding,
the attempt_id rule, the backend-side decoder, and property tests that nothing ever raises."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.messages import (
    FRAME_BYTES,
    FRAME_SAMPLES,
    FRAME_SECONDS,
    AudioMessage,
    Card,
    CardsEvent,
    ClientFeatures,
    Correlation,
    EntitiesEvent,
    Entity,
    ErrorEvent,
    FinalSummaryEvent,
    MetricsEvent,
    Source,
    StartMessage,
    StatusEvent,
    StatusState,
    StopMessage,
    TranscriptEvent,
    UnrecognizedEvent,
)
from app.core.protocol import (
    ClientDecodeError,
    decode_client,
    decode_server,
    encode_audio_binary,
    encode_audio_json,
    encode_client,
    encode_start,
    encode_stop,
    excerpt,
    is_for_attempt,
)
from app.core.server_decoders import EXCERPT_CHARS

IDS = {"session_id": "sess-1", "attempt_id": "att-1", "connection_id": "conn-1"}
CORR = Correlation("sess-1", "att-1", "conn-1")
PCM = bytes(range(256)) * 2 + bytes(128)  # 640 bytes, every byte value present


def server(obj: dict[str, Any]) -> str:
    return json.dumps(obj)


# =========================================================================== client encoding


def test_frame_geometry_is_20ms_of_16k_mono_s16le() -> None:
    assert (FRAME_SAMPLES, FRAME_BYTES, FRAME_SECONDS) == (320, 640, 0.02)


def test_encode_start_has_exactly_the_contract_fields() -> None:
    msg = StartMessage("s-uuid", "a-uuid", "c-uuid", ClientFeatures(client_vad_enabled=True))
    assert json.loads(encode_start(msg)) == {
        "type": "start",
        "session_id": "s-uuid",
        "attempt_id": "a-uuid",
        "connection_id": "c-uuid",
        "sample_rate": 16000,
        "format": "pcm_s16le",
        "channels": 1,
        "client_features": {
            "clock_drift_compensation_enabled": False,
            "client_vad_enabled": True,
            "clock_drift_telemetry_enabled": True,
            "client_vad_telemetry_enabled": True,
        },
    }


def test_encode_start_default_features() -> None:
    feats = json.loads(encode_start(StartMessage("s", "a", "c")))["client_features"]
    assert feats == {
        "clock_drift_compensation_enabled": False,
        "client_vad_enabled": False,
        "clock_drift_telemetry_enabled": True,
        "client_vad_telemetry_enabled": True,
    }


@pytest.mark.parametrize(("source", "name"), [(Source.SYSTEM, "system"), (Source.MIC, "mic")])
def test_encode_audio_json(source: Source, name: str) -> None:
    obj = json.loads(encode_audio_json(AudioMessage(source, PCM)))
    assert obj == {"type": "audio", "source": name, "data": base64.b64encode(PCM).decode("ascii")}
    assert base64.b64decode(obj["data"], validate=True) == PCM


@pytest.mark.parametrize(("source", "byte"), [(Source.SYSTEM, 0), (Source.MIC, 1)])
def test_encode_audio_binary_exact_bytes(source: Source, byte: int) -> None:
    wire = encode_audio_binary(AudioMessage(source, PCM))
    assert wire[:4] == bytes([0x45, 0x50, 0x01, byte])
    assert wire[:2] == b"EP"
    assert wire[4:] == PCM
    assert len(wire) == 4 + FRAME_BYTES


def test_encode_stop() -> None:
    assert json.loads(encode_stop(StopMessage("s-uuid"))) == {"type": "stop", "session_id": "s-uuid"}


def test_encode_client_dispatches_on_message_and_encoding() -> None:
    audio = AudioMessage(Source.MIC, PCM)
    assert encode_client(audio) == encode_audio_binary(audio)
    assert encode_client(audio, binary_audio=False) == encode_audio_json(audio)
    assert encode_client(StopMessage("s")) == encode_stop(StopMessage("s"))
    start = StartMessage("s", "a", "c")
    assert encode_client(start, binary_audio=False) == encode_start(start)


def test_json_encodings_are_single_json_objects() -> None:
    # CONTRACT 8: non-object JSON kills the real server's handler.
    for text in (
        encode_start(StartMessage("s", "a", "c")),
        encode_audio_json(AudioMessage(Source.SYSTEM, b"")),
        encode_stop(StopMessage("s")),
    ):
        assert isinstance(json.loads(text), dict)


# =========================================================================== server decoding: status


def test_connected_status_without_ids_is_not_an_error() -> None:
    ev = decode_server('{"type":"status","state":"connected","message":"Connected, waiting for start"}')
    assert ev == StatusEvent("connected", "Connected, waiting for start")
    assert isinstance(ev, StatusEvent)
    assert ev.known_state is StatusState.CONNECTED
    assert ev.ids == Correlation()


def test_streaming_ack_with_connection_id_and_features() -> None:
    feats = {"client_vad_enabled": False, "clock_drift_telemetry_enabled": True}
    ev = decode_server(server({"type": "status", "state": "streaming", "message": "Streaming",
                               "client_features": feats, **IDS}))
    assert ev == StatusEvent("streaming", "Streaming", client_features=feats, ids=CORR)


def test_buffering_status_with_source_and_backlog() -> None:
    ev = decode_server(server({"type": "status", "state": "buffering", "message": "Buffering",
                               "source": "mic", "backlog_seconds": 1.74, **IDS}))
    assert ev == StatusEvent("buffering", "Buffering", source="mic", backlog_seconds=1.74, ids=CORR)


def test_overloaded_status() -> None:
    ev = decode_server(server({"type": "status", "state": "overloaded", "message": "Overloaded",
                               "source": "system", "backlog_seconds": 1.96, **IDS}))
    assert ev == StatusEvent("overloaded", "Overloaded", source="system", backlog_seconds=1.96, ids=CORR)
    assert isinstance(ev, StatusEvent)
    assert ev.known_state is StatusState.OVERLOADED


def test_backpressure_status_with_drop_counters() -> None:
    ev = decode_server(server({"type": "status", "state": "backpressure",
                               "message": "Dropped 0.50s of system audio", "dropped_frames": 25,
                               "dropped_seconds": 0.5, "backlog_seconds": 2.0, **IDS}))
    assert ev == StatusEvent("backpressure", "Dropped 0.50s of system audio", backlog_seconds=2.0,
                             dropped_frames=25, dropped_seconds=0.5, ids=CORR)


@pytest.mark.parametrize("state", ["streaming", "buffering", "overloaded", "reconnecting"])
def test_degrade_ladder_statuses(state: str) -> None:
    ev = decode_server(server({"type": "status", "state": state, "message": "m",
                               "degrade_level": "WARNING", "action": "reduce_chunk", **IDS}))
    assert ev == StatusEvent(state, "m", degrade_level="WARNING", action="reduce_chunk", ids=CORR)


@pytest.mark.parametrize("state", list(StatusState))
def test_every_contract_state_is_known(state: StatusState) -> None:
    ev = decode_server(server({"type": "status", "state": state.value, "message": "x"}))
    assert isinstance(ev, StatusEvent)
    assert ev.state == state.value
    assert ev.known_state is state


def test_contract_state_list_is_complete() -> None:
    assert {s.value for s in StatusState} == {
        "connected", "streaming", "buffering", "overloaded", "backpressure", "warning", "error",
        "reconnecting", "no_asr_provider",
    }


@pytest.mark.parametrize("state", ["paused", "STREAMING", "degraded", "ü"])
def test_unknown_status_state_survives_as_raw_string(state: str) -> None:
    ev = decode_server(server({"type": "status", "state": state, "message": "hello", **IDS}))
    assert isinstance(ev, StatusEvent)
    assert (ev.state, ev.message, ev.known_state, ev.ids) == (state, "hello", None, CORR)


@pytest.mark.parametrize("state", [None, "", 3, ["streaming"], {"a": 1}, True])
def test_status_without_usable_state_is_unrecognized(state: object) -> None:
    ev = decode_server(server({"type": "status", "state": state, **IDS}))
    assert isinstance(ev, UnrecognizedEvent)
    assert (ev.type, ev.reason, ev.ids) == ("status", "status without a state", CORR)


def test_status_missing_state_is_unrecognized() -> None:
    ev = decode_server('{"type":"status","message":"x"}')
    assert isinstance(ev, UnrecognizedEvent)
    assert ev.type == "status"


def test_status_with_wrongly_typed_fields_uses_defaults() -> None:
    ev = decode_server(server({"type": "status", "state": "buffering", "message": {"x": 1}, "source": 7,
                               "backlog_seconds": "abc", "dropped_frames": [1], "dropped_seconds": True,
                               "degrade_level": None, "action": False, "client_features": [1, 2]}))
    assert ev == StatusEvent("buffering", "", source="7")


def test_status_with_null_fields_uses_defaults() -> None:
    ev = decode_server(server({"type": "status", "state": "warning", "message": None, "source": None,
                               "backlog_seconds": None, "dropped_frames": None, "session_id": None}))
    assert ev == StatusEvent("warning")


def test_status_numbers_in_strings_are_accepted() -> None:
    ev = decode_server(server({"type": "status", "state": "backpressure", "backlog_seconds": "1.5",
                               "dropped_frames": "12", "dropped_seconds": 0.24}))
    assert isinstance(ev, StatusEvent)
    assert (ev.backlog_seconds, ev.dropped_frames, ev.dropped_seconds) == (1.5, 12, 0.24)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_status_non_finite_numbers_become_none(number: str) -> None:
    ev = decode_server('{"type":"status","state":"buffering","backlog_seconds":' + number + "}")
    assert isinstance(ev, StatusEvent)
    assert ev.backlog_seconds is None


# =========================================================================== server decoding: metrics

FULL_METRICS = {
    "type": "metrics", "source": "system", "queue_bytes": 32000, "queue_bytes_max": 64000,
    "queue_fill_ratio": 0.5, "backlog_seconds": 1.0, "max_backlog_seconds": 2.0, "queue_depth": 50,
    "queue_max_frames": 500, "dropped_total": 3, "dropped_recent": 1, "avg_infer_ms": 120.5,
    "realtime_factor": 0.8, "provider": "faster_whisper", "model_id": "base.en", "vad_enabled": False,
    "provider_health": {"realtime_factor": 0.4, "healthy": True}, "sources_active": 2,
    "timestamp": 1712345678.25, "degrade_level": "NORMAL", "degrade_level_num": 0, "rtf_avg_10s": 0.41,
    **IDS,
}


def test_metrics_with_every_field() -> None:
    assert decode_server(server(FULL_METRICS)) == MetricsEvent(
        source="system", queue_bytes=32000, queue_bytes_max=64000, queue_fill_ratio=0.5,
        backlog_seconds=1.0, max_backlog_seconds=2.0, queue_depth=50, queue_max_frames=500,
        dropped_total=3, dropped_recent=1, avg_infer_ms=120.5, realtime_factor=0.8,
        provider="faster_whisper", model_id="base.en", vad_enabled=False,
        provider_health={"realtime_factor": 0.4, "healthy": True}, sources_active=2,
        timestamp=1712345678.25, degrade_level="NORMAL", degrade_level_num=0, rtf_avg_10s=0.41, ids=CORR,
    )


def test_metrics_with_no_fields_is_all_none() -> None:
    ev = decode_server('{"type":"metrics"}')
    assert ev == MetricsEvent()
    assert isinstance(ev, MetricsEvent)
    assert ev.fill_ratio is None


def test_metrics_with_null_fields_is_all_none() -> None:
    nulls = {key: None for key in FULL_METRICS if key != "type"}
    assert decode_server(server({"type": "metrics", **nulls})) == MetricsEvent()


def test_metrics_with_wrongly_typed_fields_defaults_each() -> None:
    junk: dict[str, Any] = {key: {"nested": [1]} for key in FULL_METRICS if key != "type"}
    junk["queue_fill_ratio"] = "full"
    junk["vad_enabled"] = "maybe"
    junk["queue_bytes"] = True
    junk["provider_health"] = ["not", "an", "object"]
    assert decode_server(server({"type": "metrics", **junk})) == MetricsEvent()


def test_metrics_huge_and_non_finite_numbers_default() -> None:
    ev = decode_server('{"type":"metrics","queue_bytes":' + str(10**400) + ',"dropped_total":1e300,'
                       '"queue_fill_ratio":NaN,"backlog_seconds":Infinity,"timestamp":-Infinity}')
    assert ev == MetricsEvent()


def test_metrics_fill_ratio_falls_back_to_bytes() -> None:
    ev = decode_server('{"type":"metrics","queue_bytes":48000,"queue_bytes_max":64000}')
    assert isinstance(ev, MetricsEvent)
    assert ev.fill_ratio == 0.75
    zero_max = decode_server('{"type":"metrics","queue_bytes":48000,"queue_bytes_max":0}')
    assert isinstance(zero_max, MetricsEvent)
    assert zero_max.fill_ratio is None
    reported = decode_server('{"type":"metrics","queue_fill_ratio":0.97,"queue_bytes":0,"queue_bytes_max":1}')
    assert isinstance(reported, MetricsEvent)
    assert reported.fill_ratio == 0.97


def test_metrics_vad_flag_variants() -> None:
    for raw, expected in ((True, True), (0, False), ("true", True), ("False", False), ("yes", None)):
        ev = decode_server(server({"type": "metrics", "vad_enabled": raw}))
        assert isinstance(ev, MetricsEvent)
        assert ev.vad_enabled is expected, raw


# =========================================================================== server decoding: transcript


def test_asr_final_with_every_field() -> None:
    ev = decode_server(server({"type": "asr_final", "text": "hello world", "t0": 1.25, "t1": 2.5,
                               "confidence": 0.93, "source": "mic", "stable": True, "language": "en",
                               "segment_id": "seg-7", "speaker": "S1", **IDS}))
    assert ev == TranscriptEvent(True, "hello world", 1.25, 2.5, "mic", 0.93, True, "en", "seg-7", "S1", CORR)


def test_asr_partial_is_not_final() -> None:
    ev = decode_server(server({"type": "asr_partial", "text": "hel", "t0": 0, "t1": 0.4, "source": "system",
                               "stable": False}))
    assert ev == TranscriptEvent(False, "hel", 0.0, 0.4, "system", stable=False)


def test_transcript_with_missing_and_null_fields() -> None:
    assert decode_server('{"type":"asr_final"}') == TranscriptEvent(True, "")
    assert decode_server('{"type":"asr_final","text":null,"t0":null,"t1":null,"speaker":null}') == (
        TranscriptEvent(True, "")
    )


def test_transcript_with_wrong_types() -> None:
    ev = decode_server(server({"type": "asr_final", "text": ["x"], "t0": "soon", "t1": {}, "confidence": "hi",
                               "source": [], "stable": "perhaps", "language": 5, "segment_id": 12}))
    assert ev == TranscriptEvent(True, "", 0.0, 0.0, None, None, None, "5", "12")


def test_transcript_end_never_precedes_start() -> None:
    ev = decode_server('{"type":"asr_final","text":"x","t0":3.0,"t1":1.0}')
    assert isinstance(ev, TranscriptEvent)
    assert (ev.t0, ev.t1) == (3.0, 3.0)
    missing_end = decode_server('{"type":"asr_final","text":"x","t0":3.0}')
    assert isinstance(missing_end, TranscriptEvent)
    assert missing_end.t1 == 3.0


# =========================================================================== server decoding: analysis


def _entity_json(name: str) -> dict[str, Any]:
    return {"name": name, "type": "person", "count": 3, "last_seen": 12.5, "confidence": 0.8,
            "grounding": ["seg-1", "seg-2"]}


def test_entities_update_with_every_group() -> None:
    payload = {"type": "entities_update", **IDS,
               **{group: [_entity_json(group + "-a")] for group in ("people", "orgs", "dates", "projects",
                                                                    "topics")}}
    ev = decode_server(server(payload))
    expected = {group: (Entity(group + "-a", "person", 3, 12.5, 0.8, ("seg-1", "seg-2")),)
                for group in ("people", "orgs", "dates", "projects", "topics")}
    assert ev == EntitiesEvent(**expected, ids=CORR)


def test_entities_update_lenient() -> None:
    ev = decode_server(server({"type": "entities_update",
                               "people": [{"name": "Ada"}, {"type": "person"}, "Bob", None, {"name": ""},
                                          {"name": "Cy", "count": "many", "grounding": "seg-9",
                                           "last_seen": None}],
                               "orgs": "ACME", "dates": None}))
    assert ev == EntitiesEvent(people=(Entity("Ada"), Entity("Cy", grounding=("seg-9",))))


def test_cards_update_with_every_field() -> None:
    card = {"text": "Send the deck", "owner": "Ada", "due": "Friday", "confidence": 0.7,
            "evidence": ["we will send it"]}
    ev = decode_server(server({"type": "cards_update", "actions": [card], "decisions": [{"text": "Ship it"}],
                               "risks": [{"text": "Late", "evidence": "quote"}],
                               "window": {"t0": 0, "t1": 40}, **IDS}))
    assert ev == CardsEvent(
        actions=(Card("Send the deck", "Ada", "Friday", 0.7, ("we will send it",)),),
        decisions=(Card("Ship it"),),
        risks=(Card("Late", evidence=("quote",)),),
        window={"t0": 0, "t1": 40},
        ids=CORR,
    )


def test_cards_update_lenient() -> None:
    ev = decode_server(server({"type": "cards_update", "actions": [{"owner": "x"}, 5, {"text": "ok",
                               "confidence": "high", "evidence": [1, "e"]}], "decisions": {}, "window": []}))
    assert ev == CardsEvent(actions=(Card("ok", evidence=("e",)),))


def test_final_summary_with_everything() -> None:
    data: dict[str, Any] = {
        "session_id": "sess-1",
        "transcript": [{"text": "one", "t0": 0, "t1": 1.5, "source": "mic"}, "junk",
                       {"text": "two", "t0": 1.5, "t1": 3.0, "source": "system", "speaker": "S2"}],
        "actions": [{"text": "Do it", "owner": "Ada"}], "decisions": [{"text": "Yes"}],
        "risks": [{"text": "Risky"}], "entities": {"people": []}, "diarization": None,
    }
    ev = decode_server(server({"type": "final_summary", "markdown": "# Summary", "json": data, **IDS}))
    assert ev == FinalSummaryEvent(
        markdown="# Summary",
        transcript=(TranscriptEvent(True, "one", 0.0, 1.5, "mic", ids=CORR),
                    TranscriptEvent(True, "two", 1.5, 3.0, "system", speaker="S2", ids=CORR)),
        actions=(Card("Do it", "Ada"),), decisions=(Card("Yes"),), risks=(Card("Risky"),),
        data=data, ids=CORR,
    )


@pytest.mark.parametrize("json_field", ["null", "[]", "\"text\"", "3"])
def test_final_summary_with_unusable_json(json_field: str) -> None:
    ev = decode_server('{"type":"final_summary","markdown":"md","json":' + json_field + "}")
    assert ev == FinalSummaryEvent(markdown="md")


def test_final_summary_without_anything() -> None:
    assert decode_server('{"type":"final_summary"}') == FinalSummaryEvent()


def test_large_final_summary_decodes() -> None:
    segments = [{"text": "word " * 40, "t0": i, "t1": i + 1, "source": "mic"} for i in range(20_000)]
    text = server({"type": "final_summary", "markdown": "x" * 1_000_000, "json": {"transcript": segments}})
    assert len(text) > 5_000_000
    ev = decode_server(text)
    assert isinstance(ev, FinalSummaryEvent)
    assert len(ev.transcript) == 20_000
    assert len(ev.markdown) == 1_000_000


def test_error_message() -> None:
    ev = decode_server(server({"type": "error", "message": "Invalid start message: session_id", **IDS}))
    assert ev == ErrorEvent("Invalid start message: session_id", CORR)


@pytest.mark.parametrize("message", ["", None, 5.5, [], {}])
def test_error_without_usable_message_still_says_something(message: object) -> None:
    ev = decode_server(server({"type": "error", "message": message}))
    assert isinstance(ev, ErrorEvent)
    expected = "5.5" if message == 5.5 else "The server reported an error without a message"
    assert ev.message == expected


# =========================================================================== server decoding: garbage


@pytest.mark.parametrize(
    "payload", ["", "{", "not json", "{'type': 'status'}", "\x00", '{"type":}', "\ufeff{}", "[" * 100_000]
)
def test_malformed_json_is_unrecognized(payload: str) -> None:
    ev = decode_server(payload)
    assert isinstance(ev, UnrecognizedEvent)
    assert ev.reason.startswith("malformed JSON")
    assert ev.type is None


@pytest.mark.parametrize(("payload", "kind"), [("[]", "list"), ("1", "int"), ('"status"', "str"),
                                               ("null", "NoneType"), ("true", "bool"), ("1.5", "float")])
def test_non_object_json_is_unrecognized(payload: str, kind: str) -> None:
    ev = decode_server(payload)
    assert isinstance(ev, UnrecognizedEvent)
    assert ev.reason == f"JSON {kind} where an object was expected"
    assert ev.excerpt == payload


def test_unknown_type_keeps_type_and_ids() -> None:
    ev = decode_server(server({"type": "voice_note_ack", "x": 1, **IDS}))
    assert isinstance(ev, UnrecognizedEvent)
    assert (ev.type, ev.ids) == ("voice_note_ack", CORR)
    assert "voice_note_ack" in ev.reason


def test_missing_and_non_string_type() -> None:
    missing = decode_server('{"state":"streaming"}')
    assert isinstance(missing, UnrecognizedEvent)
    assert (missing.reason, missing.type) == ("message without a type", None)
    numeric = decode_server('{"type":5}')
    assert isinstance(numeric, UnrecognizedEvent)
    assert numeric.type is None


@pytest.mark.parametrize("payload", [b"", b"EP\x01\x00" + PCM, bytearray(b'{"type":"status"}'),
                                     memoryview(b"\xff\xfe")])
def test_binary_from_server_is_unrecognized(payload: bytes) -> None:
    ev = decode_server(payload)
    assert isinstance(ev, UnrecognizedEvent)
    assert ev.reason == "unexpected binary message from server"
    assert len(ev.excerpt) <= EXCERPT_CHARS


def test_excerpt_is_short_single_line_and_printable() -> None:
    assert excerpt("a\nb\rc") == "a\\nb\\rc"
    long = excerpt("x" * 10_000)
    assert len(long) == EXCERPT_CHARS
    assert long.endswith("…")
    assert excerpt(b"\x00\xff") == "00 ff"
    assert len(excerpt(bytes(10_000))) == EXCERPT_CHARS


def test_ids_are_read_leniently() -> None:
    ev = decode_server('{"type":"asr_final","text":"x","session_id":12,"attempt_id":null,"connection_id":[]}')
    assert ev.ids == Correlation("12", "", "")


# =========================================================================== the attempt_id rule


@pytest.mark.parametrize(
    ("attempt_in_message", "ours", "accepted"),
    [("att-1", "att-1", True), ("att-0", "att-1", False), ("", "att-1", True), (None, "att-1", True),
     ("att-1", "", False)],
)
def test_is_for_attempt(attempt_in_message: str | None, ours: str, accepted: bool) -> None:
    obj: dict[str, Any] = {"type": "asr_final", "text": "x"}
    if attempt_in_message is not None:
        obj["attempt_id"] = attempt_in_message
    assert is_for_attempt(decode_server(server(obj)), ours) is accepted


def test_is_for_attempt_applies_to_every_event_kind() -> None:
    for kind in ("status", "metrics", "asr_partial", "entities_update", "cards_update", "final_summary",
                 "error", "mystery"):
        ev = decode_server(server({"type": kind, "state": "streaming", "attempt_id": "old"}))
        assert not is_for_attempt(ev, "new"), kind
        assert is_for_attempt(ev, "old"), kind


def test_connected_status_has_no_attempt_and_is_accepted() -> None:
    ev = decode_server('{"type":"status","state":"connected","message":"Connected, waiting for start"}')
    assert is_for_attempt(ev, "any-attempt")


# =========================================================================== client decoding (backend side)


def _start(**overrides: Any) -> str:
    obj: dict[str, Any] = json.loads(encode_start(StartMessage("s", "a", "c")))
    for key, value in overrides.items():
        if value is _DELETE:
            del obj[key]
        else:
            obj[key] = value
    return json.dumps(obj)


_DELETE = object()


def test_decode_start_all_fields() -> None:
    msg = StartMessage("s", "a", "c", ClientFeatures(True, True, False, False))
    assert decode_client(encode_start(msg)) == msg


def test_decode_start_lenient_features_and_ids() -> None:
    assert decode_client(_start(client_features=_DELETE, attempt_id=_DELETE)) == StartMessage("s", "", "c")
    assert decode_client(_start(client_features=[1])) == StartMessage("s", "a", "c")
    assert decode_client(_start(client_features={"client_vad_enabled": "true"})) == StartMessage(
        "s", "a", "c", ClientFeatures(client_vad_enabled=True)
    )


def test_decode_start_format_fields_default_when_missing() -> None:
    got = decode_client(_start(sample_rate=_DELETE, format=_DELETE, channels=_DELETE))
    assert got == StartMessage("s", "a", "c")


@pytest.mark.parametrize("session_id", [_DELETE, "", None, 5, ["s"], "x" * 257])
def test_decode_start_rejects_bad_session_id(session_id: object) -> None:
    got = decode_client(_start(session_id=session_id))
    assert isinstance(got, ClientDecodeError)
    assert got.type == "start"
    assert got.message.startswith("Invalid start message: ")


@pytest.mark.parametrize("session_id", ["x", "x" * 256])
def test_decode_start_accepts_session_id_bounds(session_id: str) -> None:
    got = decode_client(_start(session_id=session_id))
    assert isinstance(got, StartMessage)
    assert got.session_id == session_id


@pytest.mark.parametrize(
    "override",
    [{"sample_rate": 48000}, {"sample_rate": "16000"}, {"sample_rate": True}, {"sample_rate": None},
     {"format": "f32le"}, {"format": None}, {"channels": 2}, {"channels": True}, {"channels": "1"}],
)
def test_decode_start_rejects_unsupported_format(override: dict[str, Any]) -> None:
    got = decode_client(_start(**override))
    assert isinstance(got, ClientDecodeError)
    assert got.type == "start"
    assert got.message.startswith("Unsupported audio format: ")


def test_decode_audio_json_defaults_to_system() -> None:
    data = base64.b64encode(PCM).decode()
    assert decode_client(json.dumps({"type": "audio", "data": data})) == AudioMessage(Source.SYSTEM, PCM)
    assert decode_client(json.dumps({"type": "audio", "source": "mic", "data": data})) == AudioMessage(
        Source.MIC, PCM
    )


@pytest.mark.parametrize(
    ("obj", "message"),
    [({"source": "speaker", "data": ""}, "Unknown audio source"),
     ({"source": 1, "data": ""}, "Unknown audio source"),
     ({"source": "mic"}, "without base64 'data'"),
     ({"data": 12}, "without base64 'data'"),
     ({"data": "not base64!"}, "not valid base64"),
     ({"data": "abc"}, "not valid base64"),
     ({"data": "ü"}, "not valid base64")],
)
def test_decode_audio_json_errors(obj: dict[str, Any], message: str) -> None:
    got = decode_client(json.dumps({"type": "audio", **obj}))
    assert isinstance(got, ClientDecodeError)
    assert got.type == "audio"
    assert message in got.message


@pytest.mark.parametrize(("source_byte", "source"), [(0, Source.SYSTEM), (1, Source.MIC)])
def test_decode_binary_audio(source_byte: int, source: Source) -> None:
    assert decode_client(b"EP\x01" + bytes([source_byte]) + PCM) == AudioMessage(source, PCM)
    assert decode_client(b"EP\x01" + bytes([source_byte])) == AudioMessage(source, b"")


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"", "without the EP header"), (b"EP\x01", "without the EP header"), (b"XX\x01\x00" + PCM,
     "without the EP header"), (b"EP\x02\x00" + PCM, "version 2"), (b"EP\x00\x00", "version 0"),
     (b"EP\x01\x02" + PCM, "source byte 2"), (b"EP\x01\xff", "source byte 255")],
)
def test_decode_binary_header_errors(payload: bytes, message: str) -> None:
    got = decode_client(payload)
    assert isinstance(got, ClientDecodeError)
    assert got.type == "audio"
    assert message in got.message


def test_decode_stop() -> None:
    assert decode_client('{"type":"stop","session_id":"s"}') == StopMessage("s")


@pytest.mark.parametrize("extra", ["", ',"session_id":""', ',"session_id":null', ',"session_id":7'])
def test_decode_stop_without_session_id(extra: str) -> None:
    got = decode_client('{"type":"stop"' + extra + "}")
    assert isinstance(got, ClientDecodeError)
    assert got.type == "stop"
    assert "session_id" in got.message


@pytest.mark.parametrize(("payload", "kind"), [('{"type":"voice_note"}', "voice_note"), ('{"x":1}', None),
                                               ('{"type":[1]}', None)])
def test_decode_client_unknown_type(payload: str, kind: str | None) -> None:
    got = decode_client(payload)
    assert isinstance(got, ClientDecodeError)
    assert got.type == kind
    assert got.message.startswith("Unknown message type")


@pytest.mark.parametrize("payload", ["", "{", "[]", "null", "42", '"start"'])
def test_decode_client_malformed_and_non_object(payload: str) -> None:
    got = decode_client(payload)
    assert isinstance(got, ClientDecodeError)
    assert got.type is None


# =========================================================================== property tests

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**600), max_value=10**600)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
# Values random draws rarely hit: beyond float range, beyond int64, non-finite, numbers and flags as text.
edge_values = st.sampled_from([10**400, -(10**400), 2**63, 2**62 + 1, math.nan, math.inf, -math.inf, 1e308,
                               -0.0, "1e999", "NaN", "-inf", "12", "0.5", "true", "", None, True, 0])
json_values = st.recursive(
    json_scalars | edge_values,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
ID_FIELDS = ("session_id", "attempt_id", "connection_id")
ITEM_FIELDS = ("name", "type", "count", "last_seen", "confidence", "grounding", "text", "owner", "due",
               "evidence", "t0", "t1", "source", "stable", "language", "segment_id", "speaker")
CARD_GROUPS = ("actions", "decisions", "risks")
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    "status": ("state", "message", "source", "backlog_seconds", "dropped_frames", "dropped_seconds",
               "degrade_level", "action", "client_features"),
    "metrics": tuple(key for key in FULL_METRICS if key not in ("type", *ID_FIELDS)),
    "asr_final": ITEM_FIELDS,
    "asr_partial": ITEM_FIELDS,
    "entities_update": ("people", "orgs", "dates", "projects", "topics"),
    "cards_update": (*CARD_GROUPS, "window"),
    "final_summary": ("markdown", "json"),
    "error": ("message",),
    "unknown": ("state", "text"),
}
CLIENT_FIELDS = ["session_id", "attempt_id", "connection_id", "sample_rate", "format", "channels",
                 "client_features", "source", "data"]

# Values that look like the real thing one level down: lists of objects with item field names.
items = st.lists(st.dictionaries(st.sampled_from(ITEM_FIELDS), edge_values | json_values, max_size=6),
                 max_size=3)
field_values = edge_values | json_values | items
summary_json = st.dictionaries(st.sampled_from(("transcript", *CARD_GROUPS, "session_id")), field_values,
                               max_size=5)


def _shaped(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    names = [name for name in (*TYPE_FIELDS[kind], *ID_FIELDS) if name != "type"]
    optional: dict[str, st.SearchStrategy[Any]] = {name: field_values for name in names}
    if kind == "final_summary":
        optional["json"] = summary_json | json_values
    if kind == "status":
        optional["state"] = st.sampled_from([s.value for s in StatusState]) | json_values
    return st.fixed_dictionaries({"type": st.just(kind)}, optional=optional)


# Objects that look like real messages: a known type with its own field names and arbitrary values,
# so every decoder path meets wrong types, nulls, NaN and out-of-range numbers.
shaped = st.sampled_from(sorted(TYPE_FIELDS)).flatmap(_shaped)


def _assert_no_decoder_failure(ev: object) -> None:
    # decode_server catches its own exceptions; a "decoder failure" means a bug was hidden.
    if isinstance(ev, UnrecognizedEvent):
        assert not ev.reason.startswith("decoder failure"), ev


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_decode_never_raises_on_text(payload: str) -> None:
    _assert_no_decoder_failure(decode_server(payload))
    assert isinstance(decode_client(payload), StartMessage | AudioMessage | StopMessage | ClientDecodeError)


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_decode_never_raises_on_bytes(payload: bytes) -> None:
    _assert_no_decoder_failure(decode_server(payload))
    decode_client(payload)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=6) | json_values)
def test_decode_never_raises_on_arbitrary_json(value: object) -> None:
    payload = json.dumps(value)
    _assert_no_decoder_failure(decode_server(payload))
    decode_client(payload)


@settings(max_examples=250, deadline=None)
@given(shaped)
def test_decode_never_raises_on_message_shaped_json(obj: dict[str, Any]) -> None:
    ev = decode_server(json.dumps(obj))
    _assert_no_decoder_failure(ev)
    # Whatever the field values, numbers that come out are finite or None.
    for name in ("backlog_seconds", "queue_fill_ratio", "t0", "t1", "realtime_factor"):
        value = getattr(ev, name, None)
        assert value is None or math.isfinite(value)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["start", "audio", "stop", "other"]),
       st.dictionaries(st.sampled_from(CLIENT_FIELDS), edge_values | json_values, max_size=9))
def test_decode_client_never_raises_on_message_shaped_json(kind: str, body: dict[str, Any]) -> None:
    got = decode_client(json.dumps({**body, "type": kind}))
    assert isinstance(got, StartMessage | AudioMessage | StopMessage | ClientDecodeError)


ids = st.text(min_size=1, max_size=256)
start_messages = st.builds(
    StartMessage,
    session_id=ids,
    attempt_id=st.text(max_size=64),
    connection_id=st.text(max_size=64),
    client_features=st.builds(ClientFeatures, st.booleans(), st.booleans(), st.booleans(), st.booleans()),
)
audio_messages = st.builds(AudioMessage, st.sampled_from(list(Source)), st.binary(max_size=2 * FRAME_BYTES))


@settings(max_examples=200, deadline=None)
@given(start_messages)
def test_start_round_trip(msg: StartMessage) -> None:
    assert decode_client(encode_start(msg)) == msg


@settings(max_examples=200, deadline=None)
@given(audio_messages)
def test_audio_round_trip_both_encodings(msg: AudioMessage) -> None:
    assert decode_client(encode_audio_binary(msg)) == msg
    assert decode_client(encode_audio_json(msg)) == msg
    assert decode_client(encode_client(msg, binary_audio=True)) == msg
    assert decode_client(encode_client(msg, binary_audio=False)) == msg


@settings(max_examples=200, deadline=None)
@given(ids)
def test_stop_round_trip(session_id: str) -> None:
    assert decode_client(encode_stop(StopMessage(session_id))) == StopMessage(session_id)


# --------------------------------------------------------------------------- unencodable text


def test_lone_surrogates_from_json_escapes_become_replacement_characters() -> None:
    """JSON can escape a lone UTF-16 surrogate; Python keeps it in a str that no UTF-8 file can hold.
    The decoder is the boundary: everything after it must be encodable."""
    payload = json.dumps({"type": "asr_final", "text": "caf\ud800 ok", "t0": 0, "t1": 1, "source": "mic",
                          "speaker": "\udfff", "\udc00key": "v"})
    assert "\\ud800" in payload  # json.dumps escaped it: this is what a server can send
    event = decode_server(payload)
    assert isinstance(event, TranscriptEvent)
    assert event.text == "caf\ufffd ok" and event.speaker == "\ufffd"
    event.text.encode("utf-8")  # would raise UnicodeEncodeError with the surrogate


def test_valid_surrogate_pairs_and_escaped_backslashes_are_kept() -> None:
    payload = '{"type": "asr_final", "text": "\\ud83d\\ude00 and \\\\ud800", "t0": 0, "t1": 1}'
    event = decode_server(payload)
    assert isinstance(event, TranscriptEvent) and event.text == "\U0001f600 and \\ud800"


def test_a_summary_with_lone_surrogates_is_encodable_throughout() -> None:
    payload = json.dumps({"type": "final_summary", "markdown": "# \ud800", "json": {
        "transcript": [{"text": "x\udbff", "t0": 0, "t1": 1}], "actions": [{"text": "do \udc00"}]}})
    event = decode_server(payload)
    assert isinstance(event, FinalSummaryEvent)
    json.dumps([event.markdown, event.transcript[0].text, event.actions[0].text, event.data],
               ensure_ascii=False).encode("utf-8")
