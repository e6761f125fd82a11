"""Which source each wanted ``Source`` gets: a replayed WAV file or a live device.

Event-loop thread; nothing is opened here. Importing it loads no PortAudio (``app.capture.devices``
imports sounddevice only when a device is opened or listed).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from app.capture.live import LiveSource
from app.capture.replay import ReplaySource
from app.capture.source import AudioSource, Clock
from app.core.devices import DeviceKey
from app.core.messages import Source


def make_sources(
    sources: Iterable[Source] = (Source.SYSTEM, Source.MIC),
    *,
    devices: Mapping[Source, DeviceKey | None] | None = None,
    replay: Mapping[Source, str | Path] | None = None,
    realtime: bool = True,
    clock: Clock = time.monotonic,
) -> list[AudioSource]:
    """One source per wanted ``Source`` (default both): a ``ReplaySource`` where ``replay`` names a
    WAV file for it, else a ``LiveSource`` on the remembered device (None = platform default).
    Nothing is opened yet; replay files are validated now (``ConfigError``)."""
    made: list[AudioSource] = []
    for source in dict.fromkeys(sources):  # keep order, drop repeats
        path = (replay or {}).get(source)
        if path is not None:
            made.append(ReplaySource(source, path, realtime=realtime, clock=clock))
        else:
            made.append(LiveSource(source, (devices or {}).get(source), clock=clock))
    return made
