"""The session's intake without sockets (pure, stepped clock): the per-source backlog bound over
throttling's hold + the send buffer, the live switch-off, and the flush budget at stop."""

from __future__ import annotations

from sessionkit import StandInSource, burst_frames

from app.core.framing import Frame
from app.core.messages import FRAME_SECONDS, Source
from app.session.intake import FLUSH_GRACE_SECONDS, Intake
from app.session.pipeline import PipeConfig

BOUND = 2.0  # seconds per source
CAP = round(BOUND / FRAME_SECONDS)
TICK = 0.04


class ScriptedSource(StandInSource):
    """An ``AudioSource`` that hands out pre-framed audio, ``per_read`` frames per read (a stand-in
    for a device: the intake's bookkeeping is under test, not capture)."""

    description = "scripted"

    def __init__(self, source: Source, seconds: float, seed: int) -> None:
        # speech-like tone bursts (gaps shorter than the VAD's hangover), stamped in the past so
        # the intake never treats them as read ahead of the clock
        freq = 220.0 if source is Source.SYSTEM else 330.0
        super().__init__(source, burst_frames(source, seconds, freq, seed=seed, off=0.15, start_time=-1000.0))
        self.per_read = 0

    @property
    def finished(self) -> bool:
        return self._stopped or self.given == len(self.frames)

    def read_frames(self) -> list[Frame]:
        left = len(self.frames) - self.given
        n = left if self._stopped else min(self.per_read, left)
        self.given += n
        return self.frames[self.given - n : self.given]


class Rig:
    def __init__(self, throttle: bool = True) -> None:
        self.now = 0.0
        self.sources = [ScriptedSource(Source.SYSTEM, 20.0, 1), ScriptedSource(Source.MIC, 20.0, 2)]
        self.intake = Intake(self.sources, PipeConfig(buffer_seconds=BOUND), lambda: self.now, throttle,
                             tick_seconds=TICK)

    def tick(self, arriving: int, sending: int = 0) -> None:
        """One 40 ms tick: ``arriving`` frames per source read, then up to ``sending`` sent per source."""
        self.now += TICK
        for src in self.sources:
            src.per_read = arriving
        self.intake.route(self.now, flushing=False)
        for pipe in self.intake.pipes:
            for _ in range(min(sending, len(pipe.buffer))):
                pipe.buffer.pop()
                pipe.sent += 1

    def unsent(self, source: Source) -> int:
        pipe = next(p for p in self.intake.pipes if p.source is source)
        return round(self.intake.policy.backlog_seconds(source.value) / FRAME_SECONDS) + len(pipe.buffer)

    def assert_conserved(self) -> None:
        for c in self.intake.counters().values():
            total = c.sent_frames + c.dropped_frames + c.shed_frames + c.skipped_frames + c.buffered_frames
            assert c.captured_frames == total, c


async def test_hold_and_send_buffer_together_never_exceed_the_per_source_bound() -> None:
    rig = Rig()
    await rig.intake.start(lambda _: None)
    # disconnected (nothing sent) while audio arrives 5x faster than real time: throttling holds,
    # releases at its budget into the send buffers, and the bound must hold over both
    for _ in range(60):
        rig.tick(arriving=10)
        for src in Source:
            assert rig.unsent(src) <= CAP, (src, rig.unsent(src))
        rig.assert_conserved()
    counters = rig.intake.counters()
    # the microphone's audio is kept longest (system audio is shed first): full, not beyond
    assert counters[Source.MIC].buffered_frames == CAP, counters
    assert sum(c.shed_frames + c.dropped_frames for c in counters.values()) > 0  # the bound was at work


async def test_switching_throttling_off_drops_nothing_and_everything_is_sent() -> None:
    rig = Rig()
    await rig.intake.start(lambda _: None)
    for _ in range(30):  # build a hold: arriving 2.5x real time, sent at 1x
        rig.tick(arriving=5, sending=2)
    held = {src: rig.intake.policy.backlog_seconds(src.value) for src in Source}
    assert sum(held.values()) >= BOUND - 0.6, held  # the hold pool is (nearly) full
    before = rig.intake.counters()
    rig.intake.set_throttle(False)
    after = rig.intake.counters()
    assert rig.intake.policy.backlog_seconds() == 0  # all of it moved to the send buffers...
    for src in Source:
        assert after[src].buffered_frames == before[src].buffered_frames  # ...none of it lost
        assert after[src].dropped_frames == before[src].dropped_frames
    for _ in range(200):  # live audio at 1x, the sender at the 2x catch-up rate
        rig.tick(arriving=2, sending=4)
    rig.assert_conserved()
    final = rig.intake.counters()
    for src in Source:
        assert final[src].dropped_frames == before[src].dropped_frames, final[src]
        assert final[src].buffered_frames == 0


async def test_flush_budget_counts_what_throttling_holds_and_the_stop_releases_it() -> None:
    rig = Rig()
    await rig.intake.start(lambda _: None)
    for _ in range(20):
        rig.tick(arriving=5, sending=2)
    unsent = rig.intake.unsent_seconds()
    held = rig.intake.policy.backlog_seconds()
    assert held > 0.5
    # no drain estimate yet: each source's unsent audio at the catch-up rate, the slowest decides
    assert rig.intake.flush_seconds(2.0) >= max(unsent.values()) / 2.0 + FLUSH_GRACE_SECONDS - 1e-9
    assert max(unsent.values()) > max(len(p.buffer) * FRAME_SECONDS for p in rig.intake.pipes)
    await rig.intake.stop()
    rig.intake.route(rig.now, flushing=True)
    assert rig.intake.policy.backlog_seconds() == 0  # everything held is in the send path now
    gone = rig.intake.abandon()  # the budget ran out: given up and counted as never sent
    assert sum(gone.values()) > 0
    counters = rig.intake.counters()
    for src in Source:
        assert counters[src].buffered_frames == gone[src]
    rig.assert_conserved()
