"""The voice detector adaptive throttling uses: the WebRTC VAD (mode 0) that pocketsphinx ships.

Why this one (measured, see the README's benchmark section and ``python -m app.bench vad``): per 20 ms
frame, behind the throttle's 200 ms lookahead / 300 ms hangover gate, it missed no speech frame in
any condition measured (clean speech, babble, pink noise, music; a real two-speaker recording clean
and under pink noise, music and babble at 10 dB SNR, and pink noise and music at 5 dB), where
``app.core.vad.EnergyVad`` missed 1.35 % of the real speech under pink noise at 10 dB SNR (whole
words, 200-440 ms) and 14 % at 5 dB. Missed speech is the one thing throttling must not do: skipped
"silence" is never sent. The price is that it skips less (in steady noise it calls most noise
speech), which only costs backlog, and the hold is bounded. It costs about 3 us per frame (ours 36).

pocketsphinx is already a runtime dependency (the bundled backend's recognizer), so nothing new is
installed; its ``Vad`` is the WebRTC VAD (decisions identical to ``webrtcvad-wheels`` on every frame
tested, and identical in pocketsphinx 5.0.4 and 5.1.1). Should it not load (a platform without a
wheel), ``make_detector`` falls back to ``EnergyVad`` and logs why, once.

``app.core`` must not import pocketsphinx (it stays free of native audio packages), so this adapter
lives here, behind ``app.core.vad.VoiceDetector``, and ``app.session.intake.Intake`` injects it.
Event-loop thread; one detector per source (the WebRTC VAD keeps state between frames).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from app.core.messages import FRAME_BYTES, FRAME_SECONDS, SAMPLE_RATE
from app.core.vad import EnergyVad, VadConfig, VoiceDetector

log = logging.getLogger(__name__)
WEBRTC_MODE = 0  # 0 = the least aggressive: calls the most frames speech (see the module docstring)


class _PsVad(Protocol):
    frame_bytes: int

    def is_speech(self, frame: bytes, sample_rate: int | None = None) -> bool: ...


class WebRtcVad:
    """``VoiceDetector`` over ``pocketsphinx.Vad(mode, 16000, 0.02)``: one 640-byte frame per call."""

    def __init__(self, mode: int = WEBRTC_MODE) -> None:
        import pocketsphinx  # lazy: only sessions that throttle pay for loading it

        vad: _PsVad = pocketsphinx.Vad(mode, SAMPLE_RATE, FRAME_SECONDS)
        if vad.frame_bytes != FRAME_BYTES:  # its default frame is 30 ms: make sure ours was taken
            raise ValueError(f"pocketsphinx.Vad takes {vad.frame_bytes}-byte frames, not {FRAME_BYTES}")
        self._vad = vad
        self.mode = mode

    def is_speech(self, pcm: bytes) -> bool:
        if len(pcm) != FRAME_BYTES:  # a short tail frame: pad (or cut) rather than fail
            pcm = (pcm + bytes(FRAME_BYTES))[:FRAME_BYTES]
        return bool(self._vad.is_speech(pcm))


DETECTORS = ("webrtc", "energy")


def make_detector(config: VadConfig | None = None, kind: str = "webrtc") -> Callable[[], VoiceDetector]:
    """A factory of per-source detectors: ``kind`` "webrtc" (the default) or "energy"
    (``app.core.vad.EnergyVad`` with ``config``). The WebRTC one is loaded when the first detector is
    made (throttling switched on); if pocketsphinx cannot give it, every detector of this factory is
    an ``EnergyVad`` and the reason is logged once."""
    if kind not in DETECTORS:
        raise ValueError(f"unknown voice detector {kind!r}: one of {', '.join(DETECTORS)}")
    cfg = config or VadConfig()
    fallback = kind == "energy"

    def make() -> VoiceDetector:
        nonlocal fallback
        if not fallback:
            try:
                return WebRtcVad()
            except Exception as exc:  # ImportError, a missing symbol in an old build, a broken wheel
                fallback = True
                log.warning("The WebRTC voice detector (pocketsphinx.Vad) could not be loaded (%s: %s): "
                            "adaptive throttling uses the built-in energy detector instead, which can "
                            "miss quiet speech in steady noise.", type(exc).__name__, exc)
        return EnergyVad(cfg)

    return make
