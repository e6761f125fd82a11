"""Checks before (or instead of) a meeting: does the microphone give sound, does system audio open,
does the backend answer, accept the token and the streaming handshake? Each check returns a
``CheckResult`` with what happened and, for every problem, what to do. Used by the first-run check
and Settings' "Test connection".

Event-loop thread (asyncio): devices are opened the way a session opens them (``LiveSource``) for a
second, ``/health`` runs in an executor, the handshake is a real ``start`` on a throw-away session id
that is closed at once. Nothing here raises for a failed check: failures are results.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import numpy as np

from app.capture.live import LiveSource
from app.core.check_result import CheckResult, CheckState
from app.core.devices import DeviceKey
from app.core.endpoint import Endpoint
from app.core.messages import Source, StartMessage
from app.errors import (
    AudioError,
    AuthError,
    CapacityError,
    ConfigError,
    ConnectionFailedError,
    EchoPanelError,
    HandshakeTimeoutError,
    ProtocolError,
)
from app.transport.connection import LiveConnection, TransportConfig
from app.transport.health import fetch_health

log = logging.getLogger(__name__)

LISTEN_SECONDS = 1.0
SILENCE_PEAK = 33  # int16 peak below this (about -60 dBFS) is silence
HANDSHAKE_TIMEOUT = 5.0


MIC_FIX = ("Plug in a microphone or choose another one in Settings; on macOS and Windows, allow this app to "
           "use the microphone in the system's privacy settings.")
SYSTEM_FIX = ("Choose a system-audio device in Settings, or capture the microphone only (Settings > Audio > "
              "Sources).")


async def check_microphone(device: DeviceKey | None, seconds: float = LISTEN_SECONDS) -> CheckResult:
    peak, description, problem = await _listen(Source.MIC, device, seconds)
    if problem is not None:
        return CheckResult(CheckState.FAILED, problem, MIC_FIX)
    if peak is None:
        return CheckResult(CheckState.FAILED, f"No sound arrived from {description}.",
                           "Close other apps that may hold the microphone exclusively, or choose another one "
                           "in Settings.")
    if peak < SILENCE_PEAK:
        return CheckResult(CheckState.WARNING, f"{description.capitalize()} opens but gives only silence.",
                           "Unmute it and raise its input level in the system's sound settings; speak while "
                           "checking.")
    return CheckResult(CheckState.OK, f"Working: {description} ({_dbfs(peak)} peak).")


async def check_system_audio(device: DeviceKey | None, seconds: float = LISTEN_SECONDS) -> CheckResult:
    peak, description, problem = await _listen(Source.SYSTEM, device, seconds)
    if problem is not None:
        return CheckResult(CheckState.FAILED, problem, SYSTEM_FIX)
    if peak is None or peak < SILENCE_PEAK:
        return CheckResult(CheckState.OK, f"Opens: {description}. Nothing is playing right now, which is "
                           "fine: the meeting's sound will be recorded from here.")
    return CheckResult(CheckState.OK, f"Working: {description} ({_dbfs(peak)} peak).")


async def check_backend(endpoint: Endpoint, token: str, timeout: float = HANDSHAKE_TIMEOUT) -> CheckResult:
    """``/health`` (reachable, token, model ready), then the streaming handshake (start + ack)."""
    try:
        health = await asyncio.get_running_loop().run_in_executor(None, fetch_health, endpoint, token)
    except EchoPanelError as exc:
        return _backend_problem(exc, endpoint)
    if not health.ready:
        return CheckResult(CheckState.WARNING, f"The backend at {endpoint.http_url} answers but is not "
                           f"ready: {health.reason}.", "Wait until its model has loaded, then check again.")
    start = StartMessage(f"connection-test-{uuid.uuid4()}", str(uuid.uuid4()), str(uuid.uuid4()))
    config = TransportConfig(endpoint, token, ack_timeout=timeout, open_timeout=timeout)
    try:
        conn = await LiveConnection.open(config, start, lambda event: None)
    except EchoPanelError as exc:
        return _backend_problem(exc, endpoint)
    with contextlib.suppress(Exception):
        await conn.close()
    model = " / ".join(x for x in (health.provider, health.model) if x)
    return CheckResult(CheckState.OK, f"Connected to {endpoint.ws_url}: token accepted, streaming handshake "
                       f"answered{f' ({model})' if model else ''}.")


def _backend_problem(exc: EchoPanelError, endpoint: Endpoint) -> CheckResult:
    if isinstance(exc, AuthError):
        return CheckResult(CheckState.FAILED, str(exc), "Enter the backend's access token in Settings "
                           "(ask whoever runs the backend for ECHOPANEL_WS_AUTH_TOKEN).")
    if isinstance(exc, CapacityError):
        return CheckResult(CheckState.WARNING, str(exc), "The backend is busy with other sessions; try "
                           "later.")
    if isinstance(exc, HandshakeTimeoutError | ProtocolError):
        return CheckResult(CheckState.FAILED, str(exc), "Check that the address is an EchoPanel backend's "
                           f"live listener (…{endpoint.path}) and that it is up to date.")
    if isinstance(exc, ConfigError):
        return CheckResult(CheckState.FAILED, str(exc), "Correct the backend address in Settings.")
    if isinstance(exc, ConnectionFailedError):
        return CheckResult(CheckState.FAILED, str(exc), "Check the address (host name and port), that the "
                           "backend is running, and that no firewall or VPN blocks it.")
    return CheckResult(CheckState.FAILED, str(exc), "See the log for details.")


async def _listen(source: Source, device: DeviceKey | None,
                  seconds: float) -> tuple[int | None, str, str | None]:
    """Open ``source`` for ``seconds``: (peak sample or None if no frame came, description, problem)."""
    live = LiveSource(source, device)
    try:
        await live.start()
    except AudioError as exc:
        return None, "", str(exc)
    except Exception as exc:  # a broken audio stack must become a result, not a crash
        log.exception("preflight: opening %s failed", source.value)
        return None, "", f"The {source.label} could not be opened: {exc}."
    peak: int | None = None
    try:
        await asyncio.sleep(seconds)
        frames = live.read_frames()
        if live.fault is not None:
            return None, live.description, str(live.fault)
        if frames:
            samples = np.frombuffer(b"".join(f.pcm for f in frames), dtype="<i2")
            peak = int(np.abs(samples.astype(np.int32)).max()) if samples.size else 0
    finally:
        with contextlib.suppress(Exception):
            await live.stop()
    return peak, live.description or f"the {source.label}", None


def _dbfs(peak: int) -> str:
    return f"{20 * np.log10(max(peak, 1) / 32768):.0f} dBFS"
