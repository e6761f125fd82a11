"""The session's intake without sockets (pure, stepped clock): the per-source bound of the holds (silence
shed first, then the oldest), the resend after a reconnect, the live switch-off, and giving up at stop."""

from __future__ import annotations

from sessionkit import StandInSource, burst_frames

from app.core.framing import Frame
from app.core.messages import FRAME_SECONDS, Source
from app.session.intake import Intake
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
    def __init__(self, throttle: bool = True, off: float = 0.15) -> None:
        self.now = 0.0
        self.sources = [ScriptedSource(Source.SYSTEM, 20.0, 1), ScriptedSource(Source.MIC, 20.0, 2)]
        self.intake = Intake(self.sources, PipeConfig(buffer_seconds=BOUND), throttle=throttle)
        self.shed: dict[Source, list[Frame]] = {Source.SYSTEM: [], Source.MIC: []}
        self.tapped: list[Frame] = []
        self.intake.taps.append(self.tapped.extend)

    def tick(self, arriving: int, sending: int = 0) -> None:
        """One 40 ms tick: ``arriving`` frames per source read, then up to ``sending`` sent per source."""
        self.now += TICK
        for src in self.sources:
            src.per_read = arriving
        for source, frames in self.intake.route(self.now):
            self.shed[source] += frames
        for pipe in self.intake.pipes:
            for frame in pipe.hold.take(sending, due=float("inf"), skip_silence=False):
                pipe.note_sent(self.now - frame.capture_time)

    def pipe(self, source: Source):  # type: ignore[no-untyped-def]
        return next(p for p in self.intake.pipes if p.source is source)

    def assert_conserved(self) -> None:
        for c in self.intake.counters().values():
            total = c.sent_frames + c.dropped_frames + c.shed_frames + c.skipped_frames + c.buffered_frames
            assert c.captured_frames == total, c


async def test_the_holds_never_exceed_their_bound_and_say_what_they_shed() -> None:
    rig = Rig(throttle=False)
    await rig.intake.start(lambda _: None)
    for _ in range(60):  # disconnected (nothing sent) while audio arrives 5x faster than real time
        rig.tick(arriving=10)
        for src in Source:
            assert len(rig.pipe(src).hold) <= CAP
        rig.assert_conserved()
    counters = rig.intake.counters()
    for src in Source:
        assert counters[src].buffered_frames == CAP
        # what was shed is exactly the oldest audio, handed out to be located as a loss
        shed = rig.shed[src]
        assert counters[src].dropped_frames == len(shed) > 0
        assert [f.index for f in shed] == list(range(len(shed)))
    assert len(rig.tapped) == sum(c.captured_frames for c in counters.values())  # the taps saw it all


async def test_throttling_sheds_silence_before_speech() -> None:
    rig = Rig(throttle=True)
    await rig.intake.start(lambda _: None)
    for _ in range(60):
        rig.tick(arriving=10)
    for src in Source:
        pipe = rig.pipe(src)
        assert pipe.shed > 0 and len(pipe.hold) <= CAP
    # tone bursts with 0.15 s gaps: after lookahead and hangover all of it is speech, so the oldest went
    rig.assert_conserved()


async def test_a_resend_goes_in_front_and_what_does_not_fit_is_the_oldest() -> None:
    rig = Rig(throttle=False)
    await rig.intake.start(lambda _: None)
    for _ in range(10):
        rig.tick(arriving=5, sending=5)  # everything sent as it comes
    mic = rig.pipe(Source.MIC)
    sent_before = mic.sent
    resend = rig.sources[1].frames[:50]
    assert rig.intake.restore(Source.MIC, resend) == []
    assert mic.sent == sent_before - 50  # they will be sent (and counted) again
    sent = mic.hold.take(80, due=float("inf"), skip_silence=False)  # sent on a connection...
    assert sent[:50] == resend
    for _ in sent:
        mic.note_sent(0.0)
    for _ in range(30):  # ...that died; meanwhile the hold fills to its bound
        rig.tick(arriving=5)
    gone = rig.intake.restore(Source.MIC, sent)
    assert gone and gone == sent[: len(gone)]  # the oldest did not fit
    assert len(mic.hold) == CAP
    rig.assert_conserved()


async def test_switching_throttling_off_loses_nothing() -> None:
    rig = Rig(throttle=True)
    await rig.intake.start(lambda _: None)
    for _ in range(20):
        rig.tick(arriving=5, sending=2)
    before = rig.intake.counters()
    rig.intake.set_throttle(False)
    assert rig.intake.counters() == before
    for _ in range(100):
        rig.tick(arriving=2, sending=6)
    rig.assert_conserved()
    assert all(c.buffered_frames == 0 for c in rig.intake.counters().values())


async def test_giving_up_at_stop_counts_everything_not_sent() -> None:
    rig = Rig(throttle=False)
    await rig.intake.start(lambda _: None)
    for _ in range(20):
        rig.tick(arriving=5, sending=2)
    await rig.intake.stop()
    gone = rig.intake.abandon()
    counters = rig.intake.counters()
    for src in Source:
        assert len(gone[src]) == counters[src].buffered_frames > 0
        assert len(rig.pipe(src).hold) == 0
    rig.assert_conserved()
