"""A device that fails mid-session: the session says so and carries on with the other source.

Unplugging a real device cannot be done on a test machine, so the failing source is a small
``AudioSource`` stand-in that delivers real-time frames and then sets ``fault`` after N frames, as
``app.capture.live.LiveSource`` does when PortAudio reports the device gone. The healthy source is a real
``ReplaySource``; the backend is the reference backend on a loopback socket.
"""

from __future__ import annotations

import time
from pathlib import Path

from sessionkit import StandInSource, burst_frames, run_session, session_config

from app.backend import ReferenceBackend
from app.capture.replay import ReplaySource
from app.core.framing import Frame
from app.core.messages import Source
from app.core.session_state import ConnectionState, SessionWarning, StateChanged, StopOutcome
from app.errors import DeviceFailedError

UNPLUGGED = "The system audio device was disconnected (device unplugged). Reconnect it or pick another one."


class FailingSource(StandInSource):
    """Real-time frames of a tone, then a device fault after ``fail_after`` frames (see the docstring)."""

    description = "a device that will be unplugged"

    def __init__(self, source: Source, fail_after: int) -> None:
        super().__init__(source, burst_frames(source, 10.0, 440.0, seed=7))
        self._fail_after = fail_after
        self._start: float | None = None

    async def start(self) -> None:
        self._start = time.monotonic()

    def read_frames(self) -> list[Frame]:
        if self._start is None or self.finished:
            return []
        due = min(int((time.monotonic() - self._start) / 0.02), self._fail_after)
        out = [Frame(f.source, f.pcm, self._start + f.capture_time, f.index)
               for f in self.frames[self.given:due]]
        self.given = due
        if due >= self._fail_after:
            self._fault = DeviceFailedError(UNPLUGGED)
        return out


async def test_a_device_fault_mid_session_warns_and_the_other_source_carries_on_to_a_summary(
    backend: ReferenceBackend, wavs: dict[Source, Path]
) -> None:
    failing = FailingSource(Source.SYSTEM, fail_after=40)  # 0.8 s into a 3 s session
    mic = ReplaySource(Source.MIC, wavs[Source.MIC])
    run = await run_session(session_config(backend.ws_url), [failing, mic])
    ended = run.ended
    assert ended is not None and ended.outcome is StopOutcome.SUMMARY, ended.message
    # the user is told which device failed and why, once
    [warning] = [w for w in run.of(SessionWarning) if UNPLUGGED in w.message]
    assert warning.message.startswith("system audio:")
    # the session neither failed nor reconnected: it streamed on
    states = [e.state for e in run.of(StateChanged)]
    assert ConnectionState.FAILED not in states and ConnectionState.RECONNECTING not in states
    assert ended.reconnects == 0
    system, microphone = ended.sources[Source.SYSTEM], ended.sources[Source.MIC]
    # what the failed device delivered before the fault was sent, and nothing after it
    assert system.captured_frames == system.sent_frames == 40
    # the microphone kept streaming to the end of its file, every frame of it (3 s = 150 frames)
    assert microphone.captured_frames == microphone.sent_frames >= 150
    assert warning.t < ended.t - 1.0  # the fault came well before the end: the mic streamed on after it
    assert run.session.snapshot().summary_markdown
