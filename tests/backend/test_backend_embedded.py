"""EmbeddedBackend: its own thread and loop, usable from synchronous code (the desktop app)."""

from __future__ import annotations

import json

import pytest
from backend_wsclient import silence, start_message, tone
from websockets.sync.client import connect

from app.backend import BackendConfig, EmbeddedBackend
from app.errors import ConfigError


def test_embedded_backend_serves_from_its_own_thread() -> None:
    emb = EmbeddedBackend(BackendConfig(port=0, recognizer="simulated", rtf=0.02))
    emb.start()
    try:
        assert emb.running and emb.ws_url == f"ws://127.0.0.1:{emb.port}/ws/live-listener"
        assert emb.http_url == f"http://127.0.0.1:{emb.port}"
        with connect(emb.ws_url) as ws:
            assert json.loads(ws.recv(timeout=5))["state"] == "connected"
            ws.send(start_message("embedded-session"))
            assert json.loads(ws.recv(timeout=10))["state"] == "streaming"
            pcm = tone(0.3) + silence(0.4)
            for i in range(0, len(pcm), 640):
                ws.send(b"EP\x01\x00" + pcm[i : i + 640])
            ws.send(json.dumps({"type": "stop", "session_id": "embedded-session"}))
            kinds = []
            while not kinds or kinds[-1] != "final_summary":
                kinds.append(json.loads(ws.recv(timeout=10))["type"])
            assert "asr_final" in kinds
    finally:
        emb.stop()
    assert not emb.running


def test_embedded_backend_start_failure_is_raised_in_the_caller() -> None:
    first = EmbeddedBackend(BackendConfig(port=0, recognizer="simulated"))
    first.start()
    try:
        second = EmbeddedBackend(BackendConfig(port=first.port, recognizer="simulated"))
        with pytest.raises(ConfigError, match="Cannot listen"):
            second.start()
        assert not second.running
    finally:
        first.stop()


def test_embedded_backend_can_be_started_again_after_stop() -> None:
    emb = EmbeddedBackend(BackendConfig(port=0, recognizer="simulated"))
    for _ in range(2):
        emb.start()
        try:
            with connect(emb.ws_url) as ws:
                assert json.loads(ws.recv(timeout=5))["state"] == "connected"
        finally:
            emb.stop()
        assert not emb.running
