"""The client against a hostile/scripted server: malformed and unknown messages, wrong attempt ids,
huge messages, a close mid-message, terminal and retryable rejections, missing acks and summaries."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sessionkit import Peer, ScriptedServer, replay_sources, run_session, session_config

from app.core.messages import Source
from app.core.reconnect import ReconnectPolicy
from app.core.session_state import (
    ConnectionState,
    Reconnecting,
    ServerStatus,
    SessionFailed,
    SessionWarning,
    StopOutcome,
)


def cfg(url: str, **kw: object) -> object:
    return session_config(url, health_check=False, **kw)


async def well_behaved(peer: Peer) -> None:
    await peer.handshake(ack_delay=0.3)  # audio sent before the ack would be counted here
    if await peer.until_stop():
        await peer.summary([{"text": "from the summary", "t0": 0.1, "t1": 0.4, "source": "system"}])


async def garbage_then_cut(peer: Peer) -> None:
    await peer.handshake()
    ids = peer.ids()
    for payload in (
        "this is not json",
        b"\x00\x01binary from the server",
        "[1, 2, 3]",
        '"a string"',
        "null",
        '{"no_type": true}',
        '{"type": "mystery_message", "x": 1}',
        json.dumps({"type": "status", "state": "weird_new_state", "message": "something new", **ids}),
        json.dumps({"type": "status"}),
        json.dumps({"type": "metrics", "source": 5, "queue_fill_ratio": "abc", "dropped_total": [1]}),
        json.dumps({"type": "asr_final", "text": "wrong attempt", "t0": 0, "t1": 1, "source": "system",
                    **ids, "attempt_id": "someone-else"}),
        json.dumps({"type": "asr_final", "text": "kept line", "t0": "0.5", "t1": None, "source": "system",
                    **ids}),
        json.dumps({"type": "asr_final", "text": "no ids at all", "t0": 0.6, "t1": 0.9}),
        json.dumps({"type": "entities_update", "people": "not a list", "orgs": [1, {"name": "Acme"}]}),
        json.dumps({"type": "cards_update", "actions": [{"text": None}, {"text": "Ship it", "owner": 3}]}),
        json.dumps({"type": "mystery", "blob": "x" * 3_000_000}),  # 3 MB: decoded off the loop
        "{" * 100_000,  # deep nesting
    ):
        await peer.send(payload)
    await asyncio.sleep(0.3)
    # a close in the middle of a message: a text frame header promising 4096 bytes, 7 sent, then EOF
    peer.ws.transport.write(b"\x81\x7e\x10\x00partial")
    peer.ws.transport.abort()


async def test_malformed_and_unknown_messages_are_survived(wavs: dict[Source, Path]) -> None:
    async with ScriptedServer([garbage_then_cut, well_behaved]) as server:
        run = await run_session(cfg(server.url), replay_sources({Source.SYSTEM: wavs[Source.SYSTEM]}))
    assert not server.errors, server.errors
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    assert run.ended.reconnects == 1 and len(run.of(Reconnecting)) == 1  # the cut is retryable
    texts = [s.text for s in run.session.snapshot().transcript]
    assert "kept line" in texts and "no ids at all" in texts and "from the summary" in texts
    assert "wrong attempt" not in texts  # the attempt_id rule
    # the unknown state is shown, not fatal; unknown messages become warnings
    states = [e.status.state for e in run.of(ServerStatus)]
    assert "weird_new_state" in states
    warnings = " | ".join(e.message for e in run.of(SessionWarning))
    assert "weird_new_state" in warnings and "Ignored a server message" in warnings
    snap = run.session.snapshot()
    assert snap.cards is not None and [c.text for c in snap.cards.actions] == ["Ship it"]
    assert snap.entities is not None and [e.name for e in snap.entities.orgs] == ["Acme"]
    # no audio before the ack, on either connection
    assert [p.audio_before_ack for p in server.peers] == [0, 0]
    assert server.peers[1].audio_frames > 0


async def reject_with_error(peer: Peer) -> None:
    await peer.send({"type": "status", "state": "connected", "message": "Connected, waiting for start"})
    await peer.ws.recv()
    await peer.send({"type": "error", "message": "Unsupported audio format: sample_rate=8000"})
    await peer.ws.close(1000)


async def test_type_error_is_terminal_and_shown(wavs: dict[Source, Path]) -> None:
    async with ScriptedServer([reject_with_error]) as server:
        run = await run_session(cfg(server.url), replay_sources({Source.MIC: wavs[Source.MIC]}))
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    assert len(server.peers) == 1 and run.ended.reconnects == 0
    [failed] = run.of(SessionFailed)
    assert failed.terminal and "Unsupported audio format" in failed.message


async def capacity_then_ok(peer: Peer) -> None:
    if peer.index == 0:
        await peer.send({"type": "status", "state": "connected", "message": "Connected, waiting for start"})
        await peer.ws.recv()
        await peer.send({"type": "status", "state": "error",
                         "message": "Server at capacity, please try again later"})
        await peer.ws.close(1013)
        return
    await well_behaved(peer)


async def test_capacity_error_is_retried_with_backoff(wavs: dict[Source, Path]) -> None:
    async with ScriptedServer([capacity_then_ok]) as server:
        run = await run_session(cfg(server.url), replay_sources({Source.MIC: wavs[Source.MIC]}))
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY
    [reconnect] = run.of(Reconnecting)
    assert "capacity" in reconnect.reason.lower() and reconnect.delay_seconds > 0
    assert len(server.peers) == 2


async def unauthorized(peer: Peer) -> None:
    await peer.send({"type": "status", "state": "error", "message": "Unauthorized websocket connection"})
    await peer.ws.close(1008)


async def test_unauthorized_status_and_1008_is_an_auth_error(wavs: dict[Source, Path]) -> None:
    async with ScriptedServer([unauthorized]) as server:
        run = await run_session(cfg(server.url), replay_sources({Source.MIC: wavs[Source.MIC]}))
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    assert len(server.peers) == 1
    assert "token" in run.ended.message.lower()


async def never_ack(peer: Peer) -> None:
    await peer.send({"type": "status", "state": "connected", "message": "Connected, waiting for start"})
    async for _ in peer.ws:
        pass


async def test_a_missing_ack_is_retried_and_a_later_ack_resumes(wavs: dict[Source, Path]) -> None:
    async with ScriptedServer([never_ack, well_behaved]) as server:
        run = await run_session(cfg(server.url, ack_timeout=0.5),
                                replay_sources({Source.MIC: wavs[Source.MIC]}))
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended
    assert len(server.peers) == 2 and run.ended.reconnects >= 1
    assert server.peers[0].audio_before_ack == 0 == server.peers[1].audio_before_ack


async def test_a_backend_that_never_acks_fails_clearly_after_bounded_retries(
    wavs: dict[Source, Path],
) -> None:
    policy = ReconnectPolicy(base_seconds=0.1, cap_seconds=0.2, max_attempts=2, jitter=0.0)
    async with ScriptedServer([never_ack]) as server:
        run = await run_session(cfg(server.url, ack_timeout=0.5, reconnect=policy),
                                replay_sources({Source.MIC: wavs[Source.MIC]}))
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    assert "did not acknowledge" in run.ended.message
    assert len(server.peers) == 3  # the first try and max_attempts retries, then a clear failure
    assert all(peer.audio_before_ack == 0 for peer in server.peers)


async def ack_then_ignore_stop(peer: Peer) -> None:
    await peer.handshake()
    await peer.send({"type": "asr_final", "text": "heard live", "t0": 0.2, "t1": 0.8, "source": "mic",
                     **peer.ids()})
    async for _ in peer.ws:  # never answers stop
        pass


async def test_missing_summary_keeps_the_transcript(wavs: dict[Source, Path]) -> None:
    async with ScriptedServer([ack_then_ignore_stop]) as server:
        run = await run_session(cfg(server.url, summary_timeout=0.5),
                                replay_sources({Source.MIC: wavs[Source.MIC]}))
    assert run.ended is not None and run.ended.outcome is StopOutcome.NO_SUMMARY
    assert "No final summary within 0.5 s" in run.ended.message
    assert [s.text for s in run.session.snapshot().transcript] == ["heard live"]
    assert run.session.snapshot().state is ConnectionState.STOPPED


async def ack_then_drop(peer: Peer) -> None:
    await peer.handshake()
    await peer.ws.close(1011)


async def test_stop_while_the_socket_is_down_does_not_wait_for_a_summary(tmp_path: Path) -> None:
    from sessionkit import bursts, write_wav

    path = write_wav(tmp_path / "long.wav", bursts(30.0, 300.0)[0])

    async def stop_while_reconnecting(run: object) -> None:
        from sessionkit import Run, wait_for

        assert isinstance(run, Run)
        await wait_for(lambda: bool(run.of(Reconnecting)))
        run.session.request_stop()

    async with ScriptedServer([ack_then_drop]) as server:
        # summary_timeout is long: the test's own 10 s limit proves it is not waited for
        run = await run_session(cfg(server.url, summary_timeout=60.0),
                                replay_sources({Source.SYSTEM: path}), during=stop_while_reconnecting,
                                timeout=10.0)
    assert run.ended is not None and run.ended.outcome is StopOutcome.NO_SUMMARY
    assert "not connected" in run.ended.message
