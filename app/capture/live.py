"""Live capture: one sounddevice ``InputStream`` per source at the device's native rate, float32.

Execution contexts (STYLE.md guideline 1):
- PortAudio callback thread: ``BlockHandOff.push`` copies the block and counts. Nothing else: no
  logging, no Qt, no raising (sounddevice silently stops calling a callback that raised).
- Event-loop thread: opening/closing streams (fast: tens of ms), ``read_frames()`` which drains the
  hand-off and runs the ``Framer``, fault detection. The session calls ``read_frames()`` on its
  tick (every 240 ms by default); if it stalls for longer than the hand-off's 2 s, new blocks are
  dropped and counted.

System audio per platform is chosen by ``app.core.devices``; on Linux it is the monitor of the
current default output, opened through the ALSA "pulse" PCM with ``PULSE_SOURCE`` set only while
that stream opens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from app.capture.devices import (
    env_while_opening,
    resolve_device,
    sounddevice_module,
)
from app.capture.handoff import BlockHandOff
from app.capture.source import CaptureCounters, Clock, FrameOutlet
from app.core.devices import DeviceChoice, DeviceInfo, DeviceKey, Platform
from app.core.framing import BlockClock, Frame, Framer
from app.core.messages import Source
from app.errors import AudioError, DeviceFailedError

log = logging.getLogger(__name__)

# PortAudio delivers a block every 240 ms, one per session tick, with PortAudio's "high" suggested
# latency (larger ALSA periods). Each callback is a wake-up of its own, and so is each period of the
# PulseAudio plugin's thread: two live sources cost 4.2-4.4 % of a core with 20 ms blocks and
# 3.4-3.5 % with 40 ms on the development VM (python -m app.bench pipeline --one-session --live on the
# virtual PulseAudio, paired runs); with 80 ms blocks and high latency the capture threads' share fell
# from 1.5 % to 0.9 % (python -m app.bench app, headless, per-thread CPU from /proc). From 80 to 160 ms
# blocks, one stream's PortAudio thread went from 45 to 16 wake-ups a second and the PulseAudio
# client thread's from 55 to 33 (the virtual PulseAudio, /proc context switches); the figures of the
# whole app are with ``app.session.config.DEFAULT_TICK_SECONDS``. A larger suggested latency than
# "high" makes PortAudio deliver two blocks at once (more delay, no fewer wake-ups of the app). The
# first sample of a 160 ms block is about 0.26 s old when its callback runs (PortAudio's own
# timestamps), 0.12 s with 80 ms blocks: latency in front of a server queue of 2 s. The PulseAudio
# plugin's callback timing makes BlockClock correct itself backwards by about a block now and then;
# the Framer slews such corrections (``MIN_FRAME_SPACING``), so capture times still always increase.
DEVICE_BLOCK_SECONDS = 0.24
DEVICE_LATENCY = "high"


class LiveSource:
    """A microphone or system-audio device as an ``AudioSource`` (see ``app.capture.source``)."""

    def __init__(
        self,
        source: Source,
        device: DeviceKey | None = None,
        *,
        capacity_seconds: float = 2.0,
        block_seconds: float = DEVICE_BLOCK_SECONDS,
        no_data_seconds: float = 3.0,
        clock: Clock = time.monotonic,
        platform: Platform | None = None,
    ) -> None:
        self._source = source
        self._wanted = device
        self._capacity_seconds = capacity_seconds
        self._block_seconds = block_seconds
        self._no_data_seconds = no_data_seconds
        self._clock = clock
        self._platform = platform
        self._choice: DeviceChoice | None = None
        self._stream: Any = None
        self._handoff: BlockHandOff | None = None
        self._errors_logged = 0  # audio callback failures already said in the log
        self._framer: Framer | None = None
        self._block_clock: BlockClock | None = None
        self._started_at = 0.0
        self._stream_ended = False  # set from PortAudio's thread by finished_callback
        self._started = False
        self._stopping = False
        self._out = FrameOutlet()
        self._fault: AudioError | None = None

    # ----------------------------------------------------------- AudioSource

    @property
    def source(self) -> Source:
        return self._source

    @property
    def description(self) -> str:
        return self._choice.description if self._choice else ""

    @property
    def fault(self) -> AudioError | None:
        return self._fault

    @property
    def finished(self) -> bool:
        return self._out.finished

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("a LiveSource starts once")
        self._started = True
        # In a worker thread: pactl may take up to its timeout if the sound server hangs. The open
        # itself stays on this thread, so the PULSE_SOURCE swap can never race another open.
        choice = await asyncio.to_thread(resolve_device, self._source, self._wanted, self._platform)
        self._choice = choice
        self._open(choice)

    async def stop(self) -> None:
        if self._handoff is None or self._stopping or self._fault is not None:
            return  # never started, already stopping, or already closed by a fault
        self._stopping = True
        self._close_stream()
        # Let anything the callback pushed before the stream stopped reach the framer, then pad.
        frames = self._frame_blocks()
        assert self._framer is not None
        frames.extend(self._framer.flush())
        self._out.end_with(frames)

    def read_frames(self) -> list[Frame]:
        tail = self._out.take_tail()
        if tail is not None:
            return tail
        if self._stream is None or self._stopping or self._fault is not None:
            return []
        frames = self._out.hand_out(self._frame_blocks())
        self._check_health()
        self._log_callback_errors()
        return frames

    def counters(self) -> CaptureCounters:
        if self._handoff is None:
            return CaptureCounters()
        return self._handoff.counters(self._out.captured)

    # ----------------------------------------------------------- internals

    def _log_callback_errors(self) -> None:
        """The audio callback swallows its own exceptions (raising would stop it silently) and cannot
        log: say it here, the first with its traceback, then at 2, 4, 8, ... failures."""
        handoff = self._handoff
        errors = handoff.counters(0).callback_errors if handoff is not None else 0
        if handoff is None or errors <= self._errors_logged:
            return
        if self._errors_logged == 0:
            log.error("the %s audio callback failed; later failures are counted", self._source.value,
                      exc_info=handoff.first_error)
        elif errors.bit_length() > self._errors_logged.bit_length():  # passed 2, 4, 8, ...
            log.error("the %s audio callback has failed %d times", self._source.value, errors)
        self._errors_logged = errors

    def _open(self, choice: DeviceChoice) -> None:
        sd = sounddevice_module()
        device = choice.device
        rate = device.default_samplerate
        handoff = BlockHandOff(rate, self._capacity_seconds, self._clock)

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            handoff.push(indata, bool(status.input_overflow))

        try:
            with env_while_opening(choice.env):
                stream = sd.InputStream(
                    device=device.index,
                    samplerate=rate,
                    channels=device.capture_channels,
                    dtype="float32",
                    blocksize=max(1, round(rate * self._block_seconds)),
                    latency=DEVICE_LATENCY,
                    callback=callback,
                    finished_callback=self._on_stream_finished,
                )
        except Exception as exc:  # PortAudioError, ValueError for a bad format, OSError...
            raise self._open_error(device, exc) from exc
        try:
            stream.start()
        except Exception as exc:
            try:
                stream.close(ignore_errors=True)
            except Exception:  # the start failure below is what matters; this one only to the log
                log.debug("closing the stream that failed to start failed too", exc_info=True)
            raise self._open_error(device, exc) from exc
        self._stream, self._handoff = stream, handoff
        self._framer = Framer(self._source, float(stream.samplerate), device.capture_channels)
        self._block_clock = BlockClock(float(stream.samplerate))
        self._started_at = self._clock()

    def _open_error(self, device: DeviceInfo, exc: BaseException) -> DeviceFailedError:
        return DeviceFailedError(
            f"Could not open the {self._source.label} device {device.key}: {describe_exception(exc)}. "
            "Check that no other app holds it exclusively and that this app may use it (macOS: System "
            "Settings > Privacy & Security > Microphone; Windows: Settings > Privacy > Microphone)."
        )

    def _on_stream_finished(self) -> None:  # PortAudio thread: one assignment, nothing else
        self._stream_ended = True

    def _frame_blocks(self) -> list[Frame]:
        assert self._handoff is not None and self._framer is not None and self._block_clock is not None
        clock = self._block_clock
        blocks = [(samples, clock.block_time(pos, len(samples), callback_time))
                  for samples, pos, callback_time in self._handoff.drain()]
        return self._framer.feed_blocks(blocks)  # one resampler call per tick, not one per block

    def _check_health(self) -> None:
        assert self._handoff is not None
        if self._stream_ended or self._stream is None or not self._stream.active:
            self._fail(
                DeviceFailedError(
                    f"{self._name()} stopped (unplugged, or the sound server failed). Capture of the "
                    f"{self._source.label} has ended; reconnect the device and start a new session."
                )
            )
            return
        last = self._handoff.last_push_time
        silent_for = self._clock() - (last if last is not None else self._started_at)
        if silent_for > self._no_data_seconds:
            self._fail(
                DeviceFailedError(
                    f"{self._name()} delivered no audio for {silent_for:.1f} s (unplugged, suspended, or "
                    "taken by another app). Capture of it has ended; check the device and start a new "
                    "session."
                )
            )

    def _name(self) -> str:
        """For messages only (built on a failure, not on every tick)."""
        return f"The {self._source.label} device {self._choice.device.key if self._choice else ''}"

    def _fail(self, error: AudioError) -> None:
        self._fault = error
        self._out.finished = True
        self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.abort() if self._fault is not None else stream.stop()
            stream.close()
        except Exception:  # the device may already be gone; closing is best effort
            log.debug("stopping the %s stream failed", self._source.value, exc_info=True)
            try:
                stream.close(ignore_errors=True)
            except Exception:
                log.debug("closing the %s stream failed too", self._source.value, exc_info=True)


def describe_exception(exc: BaseException) -> str:
    """A one-line reason from a PortAudio or OS error, without the class path."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
