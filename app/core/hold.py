"""The client's hold: one source's unsent audio, oldest first, bounded.

Everything captured waits here until flow control (``app.core.flow``) lets it go: audio captured
before the ``streaming`` ack, during a reconnect or a stalled backend, what the server's queue cannot
take yet, and (after a reconnect) what the dead connection may not have delivered (``restore``).
Throttling on, every frame is tagged by the voice detector (``app.core.vad``: speech, silence, or still
waiting for its 200 ms lookahead), so silence can be skipped rather than sent when behind.

Bound: ``capacity_frames`` (the setting ``client_backlog_seconds``). Drop policy when over it: shed
frames decided silent first, then the oldest audio; every shed frame is returned to the caller, who
counts it and locates the loss. Pure, event-loop thread, no clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from app.core.messages import FRAME_SECONDS
from app.core.timemap import SentFrame
from app.core.vad import SpeechTagger

SILENCE_SCAN_EXTRA = 10  # shed this much more silence per pass, so the O(n) scan stays rare


class FrameLike(SentFrame, Protocol):
    """What the hold needs of a frame; ``app.core.framing.Frame`` satisfies it."""

    @property
    def pcm(self) -> bytes: ...


F = TypeVar("F", bound=FrameLike)


@dataclass(slots=True)
class Held(Generic[F]):
    frame: F
    keep: bool | None = True  # None: the VAD decision waits for its lookahead; False: silence


class SourceHold(Generic[F]):
    """See the module docstring. ``tagger_factory`` makes the source's VAD when throttling first needs it."""

    def __init__(self, source: str, capacity_frames: int,
                 tagger_factory: Callable[[], SpeechTagger[Held[F]]]) -> None:
        if capacity_frames < 1:
            raise ValueError("capacity_frames must be >= 1")
        self.source = source
        self.capacity_frames = capacity_frames
        self._tagger_factory = tagger_factory
        self._tagger: SpeechTagger[Held[F]] | None = None
        self._items: deque[Held[F]] = deque()
        self._maybe_silent = 0  # an upper bound of the items decided silent (0: no need to scan)
        self.skipped = 0  # silent frames not sent
        self.shed = 0  # frames shed because the hold was full

    def __len__(self) -> int:
        return len(self._items)

    @property
    def seconds(self) -> float:
        return len(self._items) * FRAME_SECONDS

    @property
    def waiting(self) -> int:
        """Held frames that are a backlog: not counting those that only wait for their VAD lookahead."""
        pending = self._tagger.pending if self._tagger is not None else 0
        return max(0, len(self._items) - pending)

    def oldest_capture(self) -> float | None:
        return self._items[0].frame.capture_time if self._items else None

    def push(self, frame: F, tag: bool, is_speech: bool | None = None) -> list[F]:
        """Hold a newly captured frame (``tag``: run it through the VAD, unless ``is_speech`` says what
        it decided already); returns the frames shed."""
        item: Held[F] = Held(frame)
        if tag:
            if self._tagger is None:
                self._tagger = self._tagger_factory()
            item.keep = None
            decided = self._tagger.push(item, frame.pcm, is_speech)
            if decided is not None:
                self._decide(*decided)
        self._items.append(item)
        return self._bound()

    def push_many(self, frames: Sequence[F], tag: bool) -> list[F]:
        """``push`` each of ``frames`` (a tick's worth, in order); the VAD looks at them together."""
        speech: list[bool | None] = [None] * len(frames)
        if tag and frames:
            if self._tagger is None:
                self._tagger = self._tagger_factory()
            speech = list(self._tagger.detect_many([frame.pcm for frame in frames]))
        shed: list[F] = []
        for frame, is_speech in zip(frames, speech, strict=True):
            shed += self.push(frame, tag, is_speech)
        return shed

    def restore(self, frames: Sequence[F]) -> list[F]:
        """Put frames that were sent on a connection that ended, and may not have been consumed, back
        in front (oldest first; they are older than anything held). Returns those that did not fit:
        being the oldest, they are the first to go."""
        for frame in reversed(frames):
            self._items.appendleft(Held(frame))
        return self._bound()

    def settle(self) -> None:
        """Decide the frames still waiting for their lookahead (throttling switched off, or the tail)."""
        if self._tagger is not None:
            for item, keep in self._tagger.flush():
                self._decide(item, keep)

    def take(self, limit: int, *, due: float, skip_silence: bool) -> list[F]:
        """Up to ``limit`` frames to send now, oldest first, none captured after ``due``. Skipping,
        silent frames at the head go (counted in ``skipped``) without using the limit, and a frame
        still waiting for its VAD decision stops the take."""
        out: list[F] = []
        items = self._items
        while items:
            head = items[0]
            if head.frame.capture_time > due:
                break
            if skip_silence and head.keep is False:
                items.popleft()
                self.skipped += 1
                self._maybe_silent = max(0, self._maybe_silent - 1)
                continue
            if len(out) >= limit or (skip_silence and head.keep is None):
                break
            items.popleft()
            out.append(head.frame)
        return out

    def take_all(self) -> list[F]:
        """Everything held, in order (given up at the end: the caller counts it)."""
        out = [item.frame for item in self._items]
        self._items.clear()
        self._maybe_silent = 0
        return out

    def _decide(self, item: Held[F], keep: bool) -> None:
        item.keep = keep
        self._maybe_silent += not keep

    def _bound(self) -> list[F]:
        excess = len(self._items) - self.capacity_frames
        if excess <= 0:
            return []
        shed: list[F] = []
        if self._maybe_silent > 0:
            shed = self._shed_silence(excess + SILENCE_SCAN_EXTRA)
            excess -= len(shed)
        while excess > 0 and self._items:
            item = self._items.popleft()
            shed.append(item.frame)
            self._maybe_silent -= item.keep is False
            excess -= 1
        self._maybe_silent = max(0, self._maybe_silent)
        self.shed += len(shed)
        return shed

    def _shed_silence(self, limit: int) -> list[F]:
        kept: deque[Held[F]] = deque()
        gone: list[F] = []
        silent = 0
        for item in self._items:
            if item.keep is False:
                if len(gone) < limit:
                    gone.append(item.frame)
                    continue
                silent += 1
            kept.append(item)
        self._items, self._maybe_silent = kept, silent
        return gone
