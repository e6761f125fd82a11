"""The client's whole send policy in a closed loop with a faithful model of the server's lanes
(tests/core/lanesim.py), on stepped time, for the pure tests: holds (app.core.hold), the throttling mode
(app.core.throttle) and flow control through the connection's view (app.core.server_view). A stall
(the server process stopped, its socket open) is ``Loop.stall``: what the client writes meanwhile sits
in the socket and reaches the server when it resumes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lanesim import FRAME, LaneServer, Rtf, SimEvent

from app.core.flow import FlowConfig
from app.core.framing import Frame
from app.core.hold import Held, SourceHold
from app.core.level import Level
from app.core.messages import Source
from app.core.server_view import ServerView
from app.core.throttle import ThrottlePolicy
from app.core.vad import SpeechTagger, VadConfig

TICK = 0.24  # the session's tick (app.session.config.DEFAULT_TICK_SECONDS)
SOURCES = (Source.MIC, Source.SYSTEM)
Speech = Callable[[str, int], bool]


class Told:
    """A voice detector told the truth per frame (the real one is measured in test_hold / test_vad)."""

    def __init__(self, source: str, speech: Speech) -> None:
        self.source, self.speech, self.seen = source, speech, 0

    def is_speech(self, pcm: bytes) -> bool:
        self.seen += 1
        return self.speech(self.source, self.seen - 1)


@dataclass
class Loop:
    server: LaneServer
    throttle: bool
    speech: Speech = lambda s, i: True
    hold_seconds: float = 120.0
    view: ServerView[Frame] = field(init=False)
    holds: dict[Source, SourceHold[Frame]] = field(init=False)
    positions: dict[str, list[int]] = field(default_factory=lambda: {"mic": [], "system": []})
    captured: int = 0
    shed: int = 0
    seen: int = 0
    sent_at: dict[tuple[str, int], float] = field(default_factory=dict)
    reports_load: bool = False  # the view knows from an earlier connection that the server reports its load
    report_delay: float = 0.0  # from the server writing a message to the client reading it
    burst_first: bool = True  # at a resume, the server reads the socket before it ends its chunk
    socket: list[tuple[str, int]] = field(default_factory=list)  # written while the server was stopped
    resume_at: float | None = None
    # A batch reaches the server's queue ``latency`` after it is written (the server reads its socket
    # when its loop gets to it) and a message is stamped when the client reads it, at a tick: a report
    # may then miss the latest batch.
    latency: float = 0.0
    # every final as the view maps it when it arrives (as the session shows it)
    shown: list[tuple[SimEvent, tuple[float, float] | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.view = ServerView(FlowConfig(tick_seconds=TICK), 0.0, reports_load=self.reports_load)
        self.policy = ThrottlePolicy(clock=lambda: 0.0, enabled=self.throttle)

        def tagger(source: str) -> Callable[[], SpeechTagger[Held[Frame]]]:
            return lambda: SpeechTagger(Told(source, self.speech), VadConfig())

        cap = round(self.hold_seconds / FRAME)
        self.holds = {s: SourceHold(s.value, cap, tagger(s.value)) for s in SOURCES}

    def run(self, seconds: float, *, capture: bool = True) -> None:
        t = self.server_time
        end = t + seconds
        while t < end - 1e-9:
            t = round(t + TICK, 6)
            self.server_time = t
            if capture:
                k = int(t / FRAME) - self.captured
                for i in range(self.captured, self.captured + k):
                    for s in SOURCES:
                        frame = Frame(s, bytes(640), i * FRAME, i)
                        self.shed += len(self.holds[s].push(frame, self.throttle))
                self.captured += k
            self._resume(t)
            self.server.advance(t)
            self.deliver(t if self.latency else None)
            waiting = {s.value: h.waiting * FRAME for s, h in self.holds.items()}
            share = {s.value: len(h) / h.capacity_frames for s, h in self.holds.items()}
            self.policy.update(t, waiting, share, Level.NORMAL, shared=self.view.shared_recognizer())
            batch: list[Frame] = []
            for s, h in self.holds.items():
                if self.policy.holds_back(s.value):
                    continue
                n = self.view.allowance(s.value, t, throttled=self.throttle, flushing=not capture)
                frames = h.take(n, due=t + TICK, skip_silence=self.policy.skip_silence)
                self.view.spent(s.value, len(frames))
                batch += frames
            for f in batch:
                position = len(self.positions[f.source.value])
                if self.resume_at is not None:
                    self.socket.append((f.source.value, position))
                else:
                    self.server.arrive(f.source.value, position, t + self.latency)
                self.positions[f.source.value].append(f.index)
                self.sent_at[(f.source.value, f.index)] = t
            self.view.record_sent(batch, t)

    server_time: float = 0.0

    def stall(self, seconds: float) -> None:
        """The server process stops now for ``seconds`` (SIGSTOP), its socket open."""
        self.server.advance(self.server_time)
        self.server.freeze(self.server_time, self.server_time + seconds)
        self.resume_at = self.server_time + seconds

    def _resume(self, t: float) -> None:
        if self.resume_at is None or t < self.resume_at:
            return
        at, self.resume_at = self.resume_at, None
        if not self.burst_first:
            self.server.advance(at)
        for source, position in self.socket:
            self.server.arrive(source, position, at, advance=not self.burst_first)
        self.socket.clear()

    def deliver(self, read_at: float | None = None) -> None:
        """The server's messages the client has received by now: each ``report_delay`` after the
        server wrote it (a loaded machine), received at that time, or stamped ``read_at`` (a tick)."""
        for ev in self.server.events[self.seen:]:
            at = ev.at + self.report_delay
            if at > self.server_time + 1e-9:
                break
            at = at if read_at is None else max(at, read_at)
            if ev.kind == "final":
                self.view.on_final(ev.source, ev.t0, ev.t1, at)
                self.shown.append((ev, self.view.to_capture(ev.source, ev.t0)))
            else:
                self.view.on_metrics(ev.source, ev.queued, ev.dropped_total, at)
            self.seen += 1

    def drain(self, limit: float = 300.0) -> None:
        """Stop: send everything held at the server's pace, then the server flushes."""
        for h in self.holds.values():
            h.settle()
        start = self.server_time
        while any(len(h) for h in self.holds.values()):
            self.run(TICK, capture=False)
            assert self.server_time - start < limit, "the flush never ended"
        self.server.flush(self.server_time)
        self.deliver()

    def dropped_speech(self, source: str) -> int:
        sent = self.positions[source]
        return sum(1 for p in self.server.lanes[source].dropped if self.speech(source, sent[p]))


def episode(start: float, end: float, high: float, low: float = 0.4) -> Rtf:
    return lambda t, s: high if start <= t < end else low
