"""Failures classified as the contract says, against real sockets: what is retried (a dropped upgrade, a
backend that keeps restarting), what is terminal (1008 in the handshake, an untrusted certificate, a
host name that does not exist), and what the user reads."""

from __future__ import annotations

import asyncio
import datetime
import json
import socket
import ssl
from pathlib import Path

import pytest
from sessionkit import Peer, Run, ScriptedServer, replay_sources, run_session, session_config, wait_for
from websockets.asyncio.client import connect

from app.backend import BackendConfig, ReferenceBackend
from app.core.messages import Source
from app.core.reconnect import ReconnectPolicy
from app.core.session_state import Reconnecting, SessionFailed, StopOutcome

FAST = ReconnectPolicy(base_seconds=0.1, cap_seconds=0.3, max_attempts=3, jitter=0.0)


async def well_behaved(peer: Peer) -> None:
    await peer.handshake()
    if await peer.until_stop():
        await peer.summary()


async def test_a_connection_dropped_during_the_upgrade_is_retried(wavs: dict[Source, Path]) -> None:
    async with ScriptedServer([well_behaved], drop_upgrades=2) as server:
        run = await run_session(session_config(server.url, health_check=False, reconnect=FAST),
                                replay_sources({Source.MIC: wavs[Source.MIC]}))
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    assert server.upgrades == 3 and len(run.of(Reconnecting)) == 2
    assert "during the WebSocket upgrade" in run.of(Reconnecting)[0].reason


async def close_1008_in_the_handshake(peer: Peer) -> None:
    """The real server's unauthorized path without its status message: just the close."""
    await peer.send({"type": "status", "state": "connected", "message": "Connected, waiting for start"})
    await peer.ws.recv()  # start
    await peer.ws.close(1008)


async def test_a_1008_close_during_the_start_handshake_is_a_terminal_auth_error(
    wavs: dict[Source, Path],
) -> None:
    async with ScriptedServer([close_1008_in_the_handshake, well_behaved]) as server:
        run = await run_session(session_config(server.url, health_check=False, reconnect=FAST),
                                replay_sources({Source.MIC: wavs[Source.MIC]}))
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    assert len(server.peers) == 1 and not run.of(Reconnecting)
    [failed] = run.of(SessionFailed)
    assert failed.terminal and "1008" in failed.message and "token" in failed.message


async def flaps(peer: Peer) -> None:
    """Acknowledges, streams a little, then goes away as a restarting server does (close 1012)."""
    if peer.index >= 6:
        await well_behaved(peer)
        return
    await peer.handshake()
    reading = asyncio.create_task(peer.until_stop())  # keep reading, so the close handshake gets through
    await asyncio.sleep(0.3)
    await peer.ws.close(1012)
    await reading


async def test_a_backend_that_keeps_restarting_does_not_end_the_session_while_reconnects_succeed(
    tmp_path: Path,
) -> None:
    """Six restarts with max_attempts=3: every reconnect succeeds, so the session goes on."""
    from sessionkit import bursts, write_wav

    path = write_wav(tmp_path / "long.wav", bursts(30.0, 440.0)[0])

    async def stop_after_the_restarts(run: Run) -> None:
        await wait_for(lambda: len(server.peers) >= 7 and bool(server.peers[6].start), timeout=40)
        run.session.request_stop()

    async with ScriptedServer([flaps]) as server:
        run = await run_session(session_config(server.url, health_check=False, reconnect=FAST),
                                replay_sources({Source.SYSTEM: path}), during=stop_after_the_restarts)
    assert run.ended is not None and run.ended.outcome is StopOutcome.SUMMARY, run.ended.message
    assert run.ended.reconnects == 6


# --------------------------------------------------------------------------- certificates and names


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1 (no CA trusts it)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "echopanel-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.mark.parametrize("health_check", [True, False], ids=["https-health", "wss-upgrade"])
async def test_an_untrusted_certificate_is_terminal_and_says_how_to_trust_it(
    wavs: dict[Source, Path], tmp_path: Path, health_check: bool
) -> None:
    async with ScriptedServer([well_behaved], ssl=self_signed(tmp_path)) as server:
        run = await run_session(session_config(server.url, health_check=health_check, reconnect=FAST),
                                replay_sources({Source.MIC: wavs[Source.MIC]}), timeout=20)
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    assert not run.of(Reconnecting) and not server.peers
    message = run.ended.message
    assert "the server's certificate is not trusted: self-signed certificate" in message, message
    assert "SSL_CERT_FILE" in message and "running" not in message


async def test_a_host_name_that_does_not_resolve_says_host_not_found_and_points_to_the_settings(
    wavs: dict[Source, Path],
) -> None:
    """RFC 6761: .invalid never resolves. The resolver answers "no such name" (terminal) or, with no
    network to ask, "try again" (retried a few times): both say host not found, neither needs a network."""
    try:
        socket.getaddrinfo("no-such-host.invalid", 8000)
        pytest.fail("no-such-host.invalid resolved: this resolver breaks RFC 6761")
    except socket.gaierror as exc:
        no_such_name = exc.errno == socket.EAI_NONAME
    run = await run_session(session_config("ws://no-such-host.invalid:8000", reconnect=FAST),
                            replay_sources({Source.MIC: wavs[Source.MIC]}), timeout=30)
    assert run.ended is not None and run.ended.outcome is StopOutcome.FAILED
    message = run.ended.message
    assert "Host not found: no-such-host.invalid" in message and "Settings" in message, message
    assert "running" not in message
    [failed] = run.of(SessionFailed)
    assert failed.terminal is no_such_name and failed.fix_in_settings is no_such_name  # "Open Settings…"


# --------------------------------------------------------------------------- capacity


async def occupy(url: str) -> object:
    """A client that takes the backend's only session slot and keeps it."""
    ws = await connect(url)
    await ws.recv()  # connected
    await ws.send(json.dumps({"type": "start", "session_id": "holder", "sample_rate": 16000,
                              "format": "pcm_s16le", "channels": 1}))
    while json.loads(await ws.recv()).get("state") != "streaming":
        pass
    return ws


@pytest.mark.slow
async def test_server_at_capacity_reaches_the_user_not_an_ack_timeout(wavs: dict[Source, Path]) -> None:
    """The server waits up to 5 s for a free slot before "Server at capacity": the ack timeout (the
    session's default) must outlast that wait."""
    config = BackendConfig(host="127.0.0.1", port=0, recognizer="simulated", rtf=0.2, max_sessions=1)
    async with ReferenceBackend(config) as backend:
        holder = await occupy(backend.ws_url)

        async def stop_once_retrying(run: Run) -> None:
            await wait_for(lambda: bool(run.of(Reconnecting)), timeout=30)
            run.session.request_stop()

        try:
            run = await run_session(session_config(backend.ws_url, health_check=False),
                                    replay_sources({Source.MIC: wavs[Source.MIC]}), during=stop_once_retrying)
        finally:
            await holder.close()  # type: ignore[attr-defined]
    reason = run.of(Reconnecting)[0].reason
    assert "Server at capacity" in reason and "did not acknowledge" not in reason, reason
