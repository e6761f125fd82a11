"""Silence sent after each source's last frame at stop, so the recognizer's end-of-stream rule can only
discard padding, never the meeting's last words.

The EchoPanel server's recognizer (CONTRACT.md 10; faster_whisper, and the reference backend) cuts a
source's audio into whole chunks (``chunk`` frames, 2 s) and, at stop, transcribes what remains after
the last whole chunk only if it is at least ``min_final`` frames (0.5 s); a shorter remainder is
discarded without a word. Measured on the real server: 0.20-0.44 s of speech lost at Stop in 8 runs of
20 (notes/issue12-real-server.md, conclusion 5).

So, after the flush and before ``stop``, every source that sent audio on the connection sends ``pad``
frames of digital silence (``PAD_FRAMES`` = ``min_final`` + 1: 0.5 s plus a frame of margin) right
after its last captured frame. Let ``r`` (0 <= r < chunk) be the real frames left after the last whole
chunk when the padding starts, and ``pad`` <= ``chunk``:

* ``r + pad < chunk``: no further whole chunk; the remainder is ``r + pad`` >= ``pad`` > ``min_final``
  frames and is transcribed, real frames included.
* ``r + pad >= chunk``: one more whole chunk is cut, holding all ``r`` real frames and ``chunk - r``
  frames of padding; the remainder, ``r + pad - chunk`` < ``pad`` frames, is padding only. Discarding it
  loses nothing.

Either way no real frame is discarded by the length rule (``discarded_real``; tested for every ``r``).
The cost: at most ``pad`` frames more per source to send and transcribe at stop. Not covered: the real
server also skips a remainder whose RMS is below 0.01; silence dilutes a short real remainder's RMS (by
``sqrt(r / (r + pad))``), so very quiet speech in a remainder of a few frames can still be skipped.

Padding frames are ``Padding`` (a ``Frame`` subclass): capture times continue after the source's last
frame, and the session keeps them out of every count of captured or sent audio, out of the local
recording, out of the frames sent again after a reconnect and out of the loss book. The padding has no
duration in capture time: a transcript time that falls into it maps to the end of the last real frame
sent before it (``app.core.timemap``), which after silence the VAD skipped lies before the padding's
own capture times; and no time maps past the end of the source's audio (``app.core.server_view``).

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from app.core.framing import Frame
from app.core.messages import FRAME_BYTES, FRAME_SECONDS

MIN_FINAL_SECONDS = 0.5  # the real server's end-of-stream rule (faster_whisper provider)
MIN_FINAL_FRAMES = round(MIN_FINAL_SECONDS / FRAME_SECONDS)
PAD_FRAMES = MIN_FINAL_FRAMES + 1  # a frame of margin over the rule
SILENCE = bytes(FRAME_BYTES)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Padding(Frame):
    """A frame of digital silence sent after a source's last captured frame: never captured audio."""


def padding(last: Frame, count: int = PAD_FRAMES) -> list[Frame]:
    """``count`` frames of silence continuing ``last``'s source right after it (capture time and index)."""
    return [Padding(last.source, SILENCE, last.capture_time + (k + 1) * FRAME_SECONDS, last.index + k + 1)
            for k in range(count)]


def is_padding(frame: object) -> bool:
    return isinstance(frame, Padding)


def real_frames(frames: list[T]) -> list[T]:
    """``frames`` without the padding."""
    return [f for f in frames if not isinstance(f, Padding)]


def discarded_real(remainder: int, pad: int, chunk: int, min_final: int = MIN_FINAL_FRAMES) -> int:
    """How many of the ``remainder`` real frames left after the last whole chunk (0 <= remainder < chunk)
    the recognizer discards at stop when ``pad`` frames of silence follow them (``pad`` <= ``chunk``)."""
    if not 0 <= remainder < chunk or not 0 <= pad <= chunk:
        raise ValueError("need 0 <= remainder < chunk and 0 <= pad <= chunk")
    rest = (remainder + pad) % chunk  # what follows the last whole chunk once the padding is in
    if rest == 0 or rest >= min_final:
        return 0
    return max(0, rest - pad)  # the discarded rest ends with the padding; the real frames before it
