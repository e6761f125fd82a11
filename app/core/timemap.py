"""Server time -> capture time, per source, on one connection (keeps transcript times true).

A segment's ``t0``/``t1`` count the audio the server PROCESSED for that source on one connection
(CONTRACT.md 4.3): frames sent minus frames the server dropped. Skipped silence and frames the client
shed were never sent. ``TimeMap`` records the capture time of every sent frame (as runs: a new run
at every discontinuity) and where the server dropped frames, and inverts both.

Server drops: between two metrics of a source, the frames that left its server queue (sent minus
still queued) were either processed or dropped; the drops reported for the source in that interval
are spread evenly over them, since 1 Hz metrics cannot say more. So a server time maps exactly when
nothing was dropped, and to within about the metrics interval during drops.

Pure: no I/O. Memory: one breakpoint per discontinuity and per metrics with drops, the oldest
forgotten beyond ``MAX_BREAKPOINTS`` (server times that old then map approximately).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Protocol

from app.core.messages import FRAME_SECONDS

MAX_BREAKPOINTS = 100_000
# Frames of one run are exactly a frame apart (sample-exact capture clocks). Anything else starts a
# run, including the 1 ms steps of a capture clock being slewed (app.core.framing), so mapped times
# follow the frames' own capture times through the correction.
RUN_TOLERANCE_SECONDS = 0.0002


class SentFrame(Protocol):
    """What the map needs of a sent frame; ``app.core.framing.Frame`` satisfies it."""

    @property
    def source(self) -> str: ...
    @property
    def capture_time(self) -> float: ...
    @property
    def index(self) -> int: ...


@dataclass(slots=True)
class _SourceMap:
    run_starts: list[int] = field(default_factory=list)  # sent position where a contiguous run starts
    run_times: list[float] = field(default_factory=list)  # capture time of that frame
    span_start: list[int] = field(default_factory=list)  # sent positions [start, start + len) ...
    span_len: list[int] = field(default_factory=list)
    span_drop: list[int] = field(default_factory=list)  # ... of which the server dropped this many
    span_pstart: list[int] = field(default_factory=list)  # processed position at the span's start
    first_time: float = 0.0  # capture time of the first frame sent
    sent: int = 0
    left: int = 0  # sent frames that have left the server queue (processed or dropped)
    dropped: int = 0
    next_time: float | None = None
    next_index: int = 0

    def trim(self) -> None:
        runs = (self.run_starts, self.run_times)
        spans = (self.span_start, self.span_len, self.span_drop, self.span_pstart)
        for group in (runs, spans):
            if len(group[0]) > MAX_BREAKPOINTS:
                for values in group:
                    del values[: MAX_BREAKPOINTS // 2]


class TimeMap:
    """Call ``record_sent`` for every frame actually sent, in order; ``record_server_drops`` at every
    metrics message of a source; ``new_connection`` when the server's clock restarts."""

    def __init__(self, frame_seconds: float = FRAME_SECONDS) -> None:
        self.frame_seconds = frame_seconds
        self._maps: dict[str, _SourceMap] = {}

    def new_connection(self) -> None:
        self._maps.clear()

    def sent_frames(self, source: str) -> int:
        m = self._maps.get(source)
        return 0 if m is None else m.sent

    def start_time(self) -> float | None:
        """Capture time of the first frame sent on this connection, of any source; ``None`` before."""
        return min((m.first_time for m in self._maps.values() if m.sent), default=None)

    def record_sent(self, frame: SentFrame) -> None:
        m = self._maps.get(frame.source)
        if m is None:
            m = self._maps[str(frame.source)] = _SourceMap()
        on_time = m.next_time is not None and abs(frame.capture_time - m.next_time) < RUN_TOLERANCE_SECONDS
        if not m.sent:
            m.first_time = frame.capture_time
        if not (on_time and frame.index == m.next_index):
            m.run_starts.append(m.sent)
            m.run_times.append(frame.capture_time)
            m.trim()
        m.sent += 1
        m.next_time, m.next_index = frame.capture_time + self.frame_seconds, frame.index + 1

    def record_server_drops(self, source: str, dropped_frames: int, queued_frames: int) -> None:
        """``dropped_frames``: server drops of this source since its previous metrics;
        ``queued_frames``: its server queue now (queue_bytes / 640)."""
        m = self._maps.setdefault(source, _SourceMap())
        end = max(m.left, m.sent - max(queued_frames, 0))
        dropped = min(max(dropped_frames, 0), end - m.left)
        if dropped > 0:
            m.span_start.append(m.left)
            m.span_pstart.append(m.left - m.dropped)
            m.span_len.append(end - m.left)
            m.span_drop.append(dropped)
            m.dropped += dropped
            m.trim()
        m.left = end

    def to_capture_time(self, source: str, server_seconds: float) -> float | None:
        """Capture time of the audio the server calls ``server_seconds``; ``None`` before any send."""
        m = self._maps.get(source)
        if m is None or not m.run_starts:
            return None
        processed = max(0.0, server_seconds) / self.frame_seconds
        # before the first span: no drops, or (after a trim) as many as were forgotten
        sent = processed + (m.span_start[0] - m.span_pstart[0] if m.span_start else 0)
        j = bisect.bisect_right(m.span_pstart, processed) - 1
        if j >= 0:
            local, kept = processed - m.span_pstart[j], m.span_len[j] - m.span_drop[j]
            if local < kept:
                sent = m.span_start[j] + local * m.span_len[j] / kept
            else:
                sent = m.span_start[j] + m.span_len[j] + (local - kept)
        i = max(0, bisect.bisect_right(m.run_starts, sent) - 1)
        return m.run_times[i] + (sent - m.run_starts[i]) * self.frame_seconds
