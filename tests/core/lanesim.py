"""A discrete-event model of the real EchoPanel server's per-source lanes, for pure tests of the client's
``LaneMirror`` and flow control (CONTRACT.md section 10; the reference backend does the same over
sockets, the loopback tests use that).

Per source: a drop-oldest queue of ``queue_frames``; a recognizer that, while idle, pulls frames one by
one until it holds ``chunk_frames``, then processes them for ``rtf(t, source) * chunk seconds`` (pulling
nothing), then emits one final if ``speech(source, position)`` holds for any frame of the chunk, with
t0/t1 on the processed timeline, then pulls again. Metrics every second, in first-audio order, with
the session-wide ``dropped_total``. ``events`` are (time, kind, payload) in time order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

FRAME = 0.02
Rtf = Callable[[float, str], float]
Speech = Callable[[str, int], bool]


@dataclass
class SimLane:
    name: str
    queue_frames: int
    chunk_frames: int
    queue: list[int] = field(default_factory=list)  # sent positions
    buffer: list[int] = field(default_factory=list)
    busy_until: float | None = None
    pull_at: float | None = None  # a final was sent; the recognizer pulls again at this time
    processed: int = 0
    dropped: list[int] = field(default_factory=list)  # positions the server dropped
    chunks: list[tuple[int, int, float, float]] = field(default_factory=list)  # (first, last, began, ended)


@dataclass
class SimEvent:
    at: float
    kind: str  # "final" | "metrics"
    source: str
    t0: float = 0.0
    t1: float = 0.0
    first: int = 0  # the sent position of the chunk's first frame (the truth a mirror must find)
    queued: int = 0
    dropped_total: int = 0


class LaneServer:
    def __init__(self, *, queue_frames: int = 100, chunk_frames: int = 100, rtf: Rtf = lambda t, s: 0.3,
                 speech: Speech = lambda s, p: True, metrics_phase: float = 0.5,
                 shared: bool = False, pull_delay: float = 0.0) -> None:
        """``shared``: one recognizer for every lane, taking full chunks in the order they became ready.
        ``pull_delay``: how long after sending a chunk's final the recognizer pulls again (a busy
        server's event loop; 0 on the real server, which pulls as soon as the final is written)."""
        self.queue_frames, self.chunk_frames = queue_frames, chunk_frames
        self.rtf, self.speech = rtf, speech
        self.lanes: dict[str, SimLane] = {}
        self.events: list[SimEvent] = []
        self.dropped_total = 0
        self._next_metrics = metrics_phase
        self.shared = shared
        self.pull_delay = pull_delay
        self._ready: list[tuple[SimLane, float]] = []  # shared: full chunks waiting, with when they filled
        self.frozen: list[tuple[float, float]] = []  # (from, until): the process is stopped (SIGSTOP)

    def freeze(self, start: float, end: float) -> None:
        """The server process is stopped from ``start`` to ``end``: nothing it would do meanwhile
        (a chunk's end, a pull, a metrics tick) happens before ``end``; the caller holds back the
        frames that reach it meanwhile (they sit in the socket) and delivers them at ``end``."""
        self.frozen.append((start, end))

    def _thaw(self, t: float) -> float:
        for start, end in self.frozen:
            if start <= t < end:
                return end
        return t

    def arrive(self, source: str, position: int, at: float, *, advance: bool = True) -> None:
        """Frame ``position`` of ``source`` reaches the server at ``at`` (positions in order);
        ``advance`` False: before anything else due at ``at`` (a burst read first after a stall)."""
        if advance:
            self.advance(at)
        lane = self.lanes.get(source)
        if lane is None:
            lane = self.lanes[source] = SimLane(source, self.queue_frames, self.chunk_frames)
        if len(lane.queue) >= lane.queue_frames:
            lane.dropped.append(lane.queue.pop(0))
            self.dropped_total += 1
        lane.queue.append(position)
        self._pull(lane, at)

    def advance(self, until: float) -> None:
        while True:
            busy = [(ln.busy_until, ln.name) for ln in self.lanes.values() if ln.busy_until is not None]
            busy += [(ln.pull_at, ln.name) for ln in self.lanes.values() if ln.pull_at is not None]
            busy = [(self._thaw(when), name) for when, name in busy]
            when, name = min(busy, default=(None, ""))
            self._next_metrics = self._thaw(self._next_metrics)
            if when is not None and when <= until and when <= self._next_metrics:
                lane = self.lanes[name]
                if lane.pull_at is not None and self._thaw(lane.pull_at) == when and lane.busy_until is None:
                    lane.pull_at = None
                    self._pull(lane, when)
                else:
                    self._finish(lane, when)
            elif self._next_metrics <= until:
                for lane in self.lanes.values():
                    self.events.append(SimEvent(self._next_metrics, "metrics", lane.name,
                                                queued=len(lane.queue), dropped_total=self.dropped_total))
                self._next_metrics += 1.0
            else:
                return

    def flush(self, at: float) -> None:
        """``stop``: everything left is processed, the last partial chunk included."""
        self.advance(at)
        for lane in self.lanes.values():
            lane.pull_at = None
            while lane.busy_until is not None or lane.queue or lane.buffer:
                busy = [other for other in self.lanes.values() if other.busy_until is not None]
                if busy:
                    first = min(busy, key=lambda other: other.busy_until or 0.0)
                    self._finish(first, first.busy_until or at)
                    continue
                if any(waiting is lane for waiting, _ in self._ready):
                    continue
                lane.buffer += lane.queue
                lane.queue = []
                self._process(lane, at)

    def _pull(self, lane: SimLane, at: float) -> None:
        if lane.busy_until is not None or lane.pull_at is not None or any(w is lane for w, _ in self._ready):
            return
        while lane.queue and len(lane.buffer) < lane.chunk_frames:
            lane.buffer.append(lane.queue.pop(0))
        if len(lane.buffer) >= lane.chunk_frames:
            self._process(lane, at)

    def _process(self, lane: SimLane, at: float) -> None:
        if self.shared and any(other.busy_until is not None for other in self.lanes.values()):
            self._ready.append((lane, at))  # waits for the one recognizer (pulling nothing)
            return
        lane.busy_until = at + self.rtf(at, lane.name) * len(lane.buffer) * FRAME
        lane.chunks.append((lane.buffer[0], lane.buffer[-1], at, lane.busy_until))

    def _finish(self, lane: SimLane, at: float) -> None:
        t0 = lane.processed * FRAME
        lane.processed += len(lane.buffer)
        if any(self.speech(lane.name, p) for p in lane.buffer):
            self.events.append(SimEvent(at, "final", lane.name, t0=t0, t1=lane.processed * FRAME,
                                        first=lane.buffer[0]))
        lane.buffer = []
        lane.busy_until = None
        if self._ready:
            waiting, _ = self._ready.pop(0)
            self._process(waiting, at)
        if self.pull_delay > 0:
            lane.pull_at = at + self.pull_delay
            return
        self._pull(lane, at)
