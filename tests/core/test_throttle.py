"""The adaptive throttling policy, stepped with a fake clock against a pure model of the server queue.

``FakeServer`` is a few lines of the contract's queue behaviour (CONTRACT.md section 5: 2 s per
source, drop-oldest, drained only as fast as the recognizer runs, metrics once a second with a
session-wide drop count pinned on the first source of the tick). It is a unit-test stand-in so each
rule can be checked frame by frame in milliseconds; the real reference backend over loopback
sockets is exercised by the session and bench tests.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.backpressure import BackpressureModel
from app.core.framing import Frame
from app.core.level import Level, LevelReport
from app.core.messages import MetricsEvent, Source
from app.core.session_state import ConnectionState
from app.core.throttle import ThrottleConfig, ThrottleMode, ThrottlePolicy

TICK = 0.02
RATE = 16_000
MIC, SYSTEM = Source.MIC, Source.SYSTEM


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeServer:
    QUEUE_FRAMES = 100  # 64000 bytes

    def __init__(self, drain: float) -> None:
        self.drain = drain  # x real time, per source
        self.queues: dict[str, deque[Frame]] = {}
        self.credit: dict[str, float] = {}
        self.processed: dict[str, list[Frame]] = {}
        self.dropped_total = 0
        self._reported = 0

    def receive(self, frame: Frame) -> None:
        q = self.queues.setdefault(frame.source, deque())
        q.append(frame)
        if len(q) > self.QUEUE_FRAMES:
            q.popleft()
            self.dropped_total += 1

    def run(self, seconds: float) -> None:
        for source, q in self.queues.items():
            self.credit[source] = self.credit.get(source, 0.0) + seconds * self.drain / TICK
            while q and self.credit[source] >= 1.0:
                self.credit[source] -= 1.0
                self.processed.setdefault(source, []).append(q.popleft())
            if not q:
                self.credit[source] = min(self.credit[source], 1.0)

    def metrics(self) -> list[MetricsEvent]:
        out = []
        for source, q in self.queues.items():
            recent, self._reported = self.dropped_total - self._reported, self.dropped_total
            out.append(
                MetricsEvent(
                    source=source,
                    queue_bytes=len(q) * 640,
                    queue_bytes_max=64000,
                    queue_fill_ratio=round(len(q) / self.QUEUE_FRAMES, 2),
                    backlog_seconds=len(q) * TICK,
                    dropped_total=self.dropped_total,
                    dropped_recent=recent,
                    realtime_factor=1.0 / self.drain,
                )
            )
        return out


class Sim:
    """Capture -> policy -> server, one 20 ms tick at a time, with the level model in the loop."""

    def __init__(self, policy: ThrottlePolicy[Frame], clock: FakeClock, server: FakeServer) -> None:
        self.policy, self.clock, self.server = policy, clock, server
        self.model = BackpressureModel(clock)
        self.model.on_connection(ConnectionState.STREAMING)
        self.next_index: dict[str, int] = {}
        self.sent: list[Frame] = []
        self.levels: list[Level] = []
        self.auto_level = True  # False: the test sets the level by hand with on_level

    def frame(self, source: str) -> Frame:
        index = self.next_index.get(source, 0)
        self.next_index[source] = index + 1
        return Frame(Source(source), bytes(640), 1000.0 + index * TICK, index)

    def run(
        self,
        seconds: float,
        sources: tuple[str, ...] = (MIC,),
        speech: Callable[[str, int], bool] = lambda s, i: True,
        send: bool = True,
    ) -> None:
        for _ in range(round(seconds / TICK)):
            self.clock.now = round(self.clock.now + TICK, 6)
            for source in sources:
                f = self.frame(source)
                self.policy.push(f, is_speech=speech(source, f.index))
            if send:
                for f in self.policy.next_frames(self.clock.now):
                    self.sent.append(f)
                    self.policy.time_map.record_sent(f)
                    self.server.receive(f)
            self.server.run(TICK)
            if round(self.clock.now / TICK) % 50 == 0:
                for ev in self.server.metrics():
                    self.model.on_metrics(ev)
                    self.policy.on_metrics(ev)
            report = self.model.report()
            if self.auto_level:
                self.policy.on_level(report)
            self.levels.append(report.level)

    def sent_seconds(self, source: str = MIC) -> float:
        return sum(1 for f in self.sent if f.source == source) * TICK


def make(drain: float = 1.0, enabled: bool = True, auto_level: bool = True, **config: object) -> Sim:
    clock = FakeClock()
    policy: ThrottlePolicy[Frame] = ThrottlePolicy(ThrottleConfig(**config), clock, enabled=enabled)  # type: ignore[arg-type]
    sim = Sim(policy, clock, FakeServer(drain))
    sim.auto_level = auto_level
    return sim


def level(value: Level) -> LevelReport:
    return LevelReport(value, "test")


# --------------------------------------------------------------------------- off and live


def test_disabled_is_a_pass_through() -> None:
    sim = make(drain=0.5, enabled=False)
    sim.run(30.0, sources=(MIC, SYSTEM), speech=lambda s, i: i % 100 < 30)
    state = sim.policy.state()
    assert (state.enabled, state.mode, state.text) == (False, ThrottleMode.OFF, "")
    assert len(sim.sent) == 2 * 1500  # every frame, on the tick it was captured, silence included
    assert sim.policy.backlog_seconds() == 0.0
    # ...so the slow server drops what it cannot process: the baseline behaviour.
    assert sim.server.dropped_total * TICK > 20.0


def test_live_mode_sends_everything_in_real_time() -> None:
    sim = make(drain=2.0)
    sim.run(10.0, sources=(MIC, SYSTEM), speech=lambda s, i: i % 100 < 30)
    assert sim.policy.state().mode is ThrottleMode.LIVE
    assert len(sim.sent) == 1000 and sim.policy.backlog_seconds() == 0.0  # silence too: level normal
    assert sim.policy.state().text == "sending live"


# --------------------------------------------------------------------------- 1. skip silence


def test_skips_silence_from_buffering_keeping_lookahead_and_hangover() -> None:
    sim = make(drain=5.0, auto_level=False)
    sim.run(4.0)  # ...speech, then the backend reports buffering
    sim.policy.on_level(level(Level.BUFFERING))
    assert sim.policy.state().mode is ThrottleMode.SKIP_SILENCE
    words = {*range(300, 310), *range(400, 420)}  # frame indices with speech
    start = len(sim.sent)
    sim.run(6.0, speech=lambda s, i: i in words)
    sent = [f.index for f in sim.sent[start:] if f.index >= 215]  # after the previous speech's hangover
    assert sent == [*range(290, 325), *range(390, 435)]  # 10 frames lookahead, 15 hangover
    state = sim.policy.state()
    # 300 frames: 15 hangover of the earlier speech, 35 + 45 kept around the words, the last 10
    # still waiting for their lookahead; the rest skipped.
    assert state.skipped_seconds["mic"] == pytest.approx((300 - 15 - 35 - 45 - 10) * TICK)
    assert state.held_seconds["mic"] == pytest.approx(10 * TICK)
    assert "skipping silence" in state.text


# --------------------------------------------------------------------------- 2. hold, match the drain


def test_holds_audio_instead_of_letting_a_slow_server_drop_it() -> None:
    sim = make(drain=0.5)
    sim.run(60.0)  # one minute of continuous speech into a backend running at half speed
    rate = sim.policy.state().sources[0]
    assert rate.drain_estimate == pytest.approx(0.5, abs=0.08)
    assert rate.rate <= 0.55
    server_dropped = sim.server.dropped_total * TICK
    assert server_dropped < 3.0  # only while the first cut takes effect; baseline: ~28 s (see above)
    assert sim.policy.backlog_seconds() > 20.0  # held on the client, in order, to send later
    assert sim.levels[-1] is Level.NORMAL  # the server queue stays below the warning thresholds
    assert "holding" in sim.policy.state().text


# --------------------------------------------------------------------------- 3. microphone first


def test_overloaded_holds_system_audio_and_streams_the_microphone() -> None:
    sim = make(drain=0.5, auto_level=False)
    sim.clock.now = 10.0  # the mode has dwelt long enough to move
    sim.policy.on_level(level(Level.OVERLOADED))
    state = sim.policy.state()
    assert state.mode is ThrottleMode.MIC_FIRST or not state.sources  # no mic lane yet: not mic-first
    sim.run(1.0, sources=(MIC, SYSTEM))
    sim.policy.on_level(level(Level.OVERLOADED))
    before = {s: sim.sent_seconds(s) for s in (MIC, SYSTEM)}
    sim.clock.now += 3.0
    sim.run(5.0, sources=(MIC, SYSTEM))
    assert sim.policy.state().mode is ThrottleMode.MIC_FIRST
    assert sim.sent_seconds(SYSTEM) == before[SYSTEM]  # system audio held entirely
    assert sim.sent_seconds(MIC) > before[MIC] + 2.0
    assert sim.policy.backlog_seconds(SYSTEM) >= 5.0
    assert sim.policy.state().text.startswith("microphone only")


def test_system_only_session_is_not_held_when_overloaded() -> None:
    sim = make(drain=0.5, auto_level=False)
    sim.clock.now = 10.0
    sim.run(1.0, sources=(SYSTEM,))
    sim.policy.on_level(level(Level.OVERLOADED))
    sim.run(1.0, sources=(SYSTEM,))
    assert sim.policy.state().mode is ThrottleMode.SKIP_SILENCE
    assert sim.sent_seconds(SYSTEM) > 1.5


# --------------------------------------------------------------------------- 4. bounded backlog


def test_full_backlog_sheds_silence_then_oldest_system_then_oldest_mic() -> None:
    sim = make(backlog_seconds=2.0)  # 100 frames for all sources together
    silence_then_speech = lambda s, i: i >= 60  # noqa: E731
    sim.run(1.6, sources=(SYSTEM,), speech=silence_then_speech, send=False)  # 80 system frames
    sim.run(0.8, sources=(MIC,), send=False)  # 40 mic frames: 20 over the bound
    state = sim.policy.state()
    held = {f: round(s / TICK) for f, s in state.held_seconds.items()}
    # Silence first: frames 0-49 were decided silent (50-59 fall in the lookahead of speech).
    assert round(state.shed_seconds["system"] / TICK) >= 20
    assert state.shed_seconds["mic"] == 0.0
    assert held["mic"] == 40
    remaining = [item.frame.index for item in sim.policy._lanes["system"].held]
    assert 60 in remaining and 79 in remaining  # speech survived, only silence went
    # Now fill up with microphone audio: oldest system audio goes first, then the oldest mic.
    sim.run(1.6, sources=(MIC,), send=False)
    state = sim.policy.state()
    assert state.held_seconds.get("system", 0.0) == 0.0
    assert sim.policy.backlog_seconds() <= 2.0
    sim.run(1.0, sources=(MIC,), send=False)
    mic = [item.frame.index for item in sim.policy._lanes["mic"].held]
    assert mic == list(range(mic[0], mic[0] + len(mic)))  # the newest mic audio, contiguous
    assert mic[-1] == sim.next_index["mic"] - 1
    assert sim.policy.state().shed_seconds["mic"] > 0.0


# --------------------------------------------------------------------------- 5. bounded catch-up


def test_backlog_drains_at_a_bounded_growing_rate_after_recovery() -> None:
    sim = make(drain=4.0)
    sim.run(10.0, send=False)  # a 10 s gap (reconnect): 10 s held
    assert sim.policy.backlog_seconds() == pytest.approx(10.0)
    gap = len(sim.levels)
    per_second = []
    for _ in range(40):
        before = len(sim.sent)
        sim.run(1.0)
        per_second.append((len(sim.sent) - before) * TICK)
    assert max(per_second) <= 1.5 + 5 * TICK  # catch-up never above 1.5x (+ a 100 ms burst)
    assert per_second[0] <= 1.1  # it starts near real time and grows gradually
    assert per_second[:8] == sorted(per_second[:8])
    assert sim.policy.backlog_seconds() < 0.1  # ...and the backlog is gone
    assert set(sim.levels[gap + 50 :]) == {Level.NORMAL}  # without bouncing the light


def test_catch_up_into_a_slower_backend_does_not_bounce_to_red() -> None:
    sim = make(drain=1.2)
    sim.run(10.0, send=False)
    sim.run(60.0)
    assert Level.OVERLOADED not in sim.levels
    assert sim.server.dropped_total == 0


# --------------------------------------------------------------------------- dwell: no oscillation


def test_level_flapping_changes_the_mode_at_most_once_per_dwell() -> None:
    sim = make(drain=2.0, auto_level=False, mode_dwell_seconds=3.0)
    changes = []
    mode = sim.policy.state().mode
    for step in range(120):  # a level that flips every half second for a minute
        sim.run(0.5)
        sim.policy.on_level(level(Level.BUFFERING if step % 2 else Level.NORMAL))
        if sim.policy.state().mode is not mode:
            mode = sim.policy.state().mode
            changes.append(sim.clock.now)
    assert len(changes) >= 2
    assert all(b - a >= 3.0 for a, b in itertools.pairwise(changes))


def test_server_hovering_at_the_threshold_does_not_flap_the_policy() -> None:
    sim = make(drain=0.98)  # a backend just short of real time: its queue creeps up and hovers
    changes, mode = [], sim.policy.state().mode
    rate = sim.policy.state().sources[0].rate if sim.policy.state().sources else 1.0
    moves: list[tuple[float, int]] = []  # (time, +1 rate increase / -1 cut)
    for _ in range(1200):
        sim.run(0.1)
        state = sim.policy.state()
        if state.mode is not mode:
            mode = state.mode
            changes.append(sim.clock.now)
        if state.sources[0].rate != rate:
            moves.append((sim.clock.now, 1 if state.sources[0].rate > rate else -1))
            rate = state.sources[0].rate
    assert len(changes) <= 4  # a slow sawtooth of the backlog, not a flutter
    assert all(b - a >= 3.0 for a, b in itertools.pairwise(changes))
    flips = [b for a, b in itertools.pairwise(moves) if a[1] != b[1]]  # rate reversals
    assert all(b[0] - a[0] >= 2.0 for a, b in itertools.pairwise(flips))  # once per rate dwell at most
    assert set(sim.levels) == {Level.NORMAL}
    assert sim.server.dropped_total == 0


# --------------------------------------------------------------------------- toggling


def test_toggle_mid_stream_loses_and_duplicates_nothing() -> None:
    sim = make(drain=0.5)
    sim.run(20.0, sources=(MIC, SYSTEM), speech=lambda s, i: i % 150 < 100)
    assert sim.policy.backlog_seconds() > 1.0
    sim.policy.enabled = False
    sim.run(1.0, sources=(MIC, SYSTEM))
    assert sim.policy.backlog_seconds() == 0.0  # everything held came out, in order
    sim.policy.enabled = True
    sim.run(5.0, sources=(MIC, SYSTEM), speech=lambda s, i: i % 150 < 100)
    sim.sent += sim.policy.drain()
    check_each_frame_once(sim)


def check_each_frame_once(sim: Sim) -> None:
    state = sim.policy.state()
    for source in (MIC, SYSTEM):
        indices = [f.index for f in sim.sent if f.source == source]
        assert indices == sorted(set(indices)), "a frame was duplicated or reordered"
        gone = state.skipped_seconds.get(source, 0.0) + state.shed_seconds.get(source, 0.0)
        accounted = len(indices) + round(gone / TICK) + round(sim.policy.backlog_seconds(source) / TICK)
        assert accounted == sim.next_index.get(source, 0), "a frame was lost"


operations = st.lists(
    st.one_of(
        st.tuples(st.just("run"), st.floats(0.02, 2.0), st.booleans()),
        st.tuples(st.just("toggle"), st.booleans(), st.booleans()),
        st.tuples(st.just("level"), st.sampled_from(list(Level)), st.booleans()),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(operations, st.floats(0.3, 3.0))
def test_any_sequence_accounts_for_every_frame(ops: list[tuple[str, object, bool]], drain: float) -> None:
    sim = make(drain=drain, backlog_seconds=3.0)
    for kind, arg, flag in ops:
        if kind == "run":
            assert isinstance(arg, float)
            sim.run(arg, sources=(MIC, SYSTEM), speech=lambda s, i: (i // 20) % 3 == 0, send=flag)
            assert sim.policy.backlog_seconds() <= 3.0 + 1e-9
        elif kind == "toggle":
            sim.policy.enabled = bool(arg)
        else:
            assert isinstance(arg, Level)
            sim.policy.on_level(level(arg))
    check_each_frame_once(sim)
    sim.sent += sim.policy.drain()
    check_each_frame_once(sim)


# --------------------------------------------------------------------------- transcript times


def test_time_map_gives_true_capture_times_through_skips_holds_and_drops() -> None:
    sim = make(drain=0.5, auto_level=False)
    sim.policy.on_level(level(Level.BUFFERING))
    sim.run(40.0, speech=lambda s, i: (i // 50) % 3 != 2)  # 1 s words, 0.5 s pauses (skipped)
    processed = sim.server.processed["mic"]
    assert len(processed) > 500
    errors = []
    for k, f in enumerate(processed):  # the server's t for the k-th processed frame is k x 20 ms
        mapped = sim.policy.time_map.to_capture_time("mic", k * TICK)
        assert mapped is not None
        errors.append(abs(mapped - f.capture_time))
    assert sim.server.dropped_total < 150  # few drops (the first seconds)...
    assert max(errors) < 1.5  # ...and even around them the time stays within the metrics interval
    assert sorted(errors)[len(errors) // 2] < 1e-6  # exact where nothing was dropped


def test_new_connection_restarts_the_map_and_the_drain_sample() -> None:
    sim = make(drain=2.0)
    sim.run(3.0)
    sim.policy.new_connection()
    assert sim.policy.time_map.to_capture_time("mic", 0.0) is None
    sim.run(1.0)
    first_after = next(f for f in sim.sent if f.index == 150)
    assert sim.policy.time_map.to_capture_time("mic", 0.0) == pytest.approx(first_after.capture_time)


def test_state_reports_numbers_per_source() -> None:
    sim = make(drain=0.5)
    sim.run(30.0, sources=(MIC, SYSTEM))
    state = sim.policy.state()
    assert [s.source for s in state.sources] == ["mic", "system"]
    for s in state.sources:
        assert s.sent_seconds + s.held_seconds + s.shed_seconds + s.skipped_seconds == pytest.approx(30.0)
        assert s.drain_estimate is not None
    assert state.since <= sim.clock.now


# --------------------------------------------------------------------------- with the real detector


def test_policy_runs_its_own_vad_when_no_decision_is_given() -> None:
    """No ``is_speech``: the policy's EnergyVad decides, on a synthetic voiced burst in quiet noise."""
    rng = np.random.default_rng(1)
    t = np.arange(RATE) / RATE
    voiced = 0.2 * sum(np.sin(2 * np.pi * k * 150 * t) / k for k in range(1, 12))
    signal = np.concatenate([np.zeros(2 * RATE), voiced, np.zeros(2 * RATE)])
    signal += rng.normal(0, 10 ** (-55 / 20), signal.size)
    pcm = np.clip(signal * 32767, -32768, 32767).astype("<i2").tobytes()
    clock = FakeClock()
    policy: ThrottlePolicy[Frame] = ThrottlePolicy(clock=clock, enabled=True)
    clock.now = 5.0
    policy.on_level(level(Level.BUFFERING))
    sent: list[Frame] = []
    for i in range(len(pcm) // 640):
        clock.now += TICK
        policy.push(Frame(MIC, pcm[i * 640 : (i + 1) * 640], i * TICK, i))
        sent += policy.next_frames()
    sent += policy.drain()
    indices = [f.index for f in sent]
    assert set(range(100, 150)) <= set(indices)  # the whole burst (frames 100-149)
    assert min(indices) >= 100 - 10 and max(indices) <= 149 + 15  # plus at most lookahead/hangover
    assert policy.state().skipped_seconds["mic"] >= 4.0 - 0.5


# --------------------------------------------------------------------------- round-2 regressions


def test_skip_silence_ends_after_an_episode_with_two_sources() -> None:
    """Each source holds 0.2 s waiting for the VAD's lookahead while silence is skipped; with two
    sources that is 0.4 s, which is no backlog and must not keep the policy skipping forever."""
    sim = make(drain=4.0, auto_level=False)
    words = lambda s, i: (i // 50) % 3 != 2  # noqa: E731  (1 s words, 0.5 s pauses)
    sim.policy.on_level(level(Level.BUFFERING))
    sim.run(10.0, sources=(MIC, SYSTEM), speech=words)
    assert sim.policy.state().mode is ThrottleMode.SKIP_SILENCE
    sim.policy.on_level(level(Level.NORMAL))
    sim.run(80.0, sources=(MIC, SYSTEM), speech=words)
    state = sim.policy.state()
    assert state.mode is ThrottleMode.LIVE
    assert state.text == "sending live"
    skipped = sum(state.skipped_seconds.values())
    sim.run(5.0, sources=(MIC, SYSTEM), speech=words)
    assert sum(sim.policy.state().skipped_seconds.values()) == skipped  # silence is sent again
    assert sim.policy.backlog_seconds() == 0.0  # and nothing waits for the lookahead: no lag floor


def test_time_map_splits_server_drops_between_two_full_sources() -> None:
    """Throttling off, both sources into a backend at half speed: both queues full, each dropping
    half of what arrives. The server pins the session-wide drop count on the first source of its
    pass; the map must book each source's own drops, or one source's times run late and the other's
    early by the same growing amount."""
    sim = make(drain=0.5, enabled=False)
    sim.run(60.0, sources=(MIC, SYSTEM))
    assert sim.server.dropped_total * TICK > 50.0
    for source in (MIC, SYSTEM):
        errors = []
        for k, f in enumerate(sim.server.processed[source]):
            mapped = sim.policy.time_map.to_capture_time(source, k * TICK)
            assert mapped is not None
            errors.append(mapped - f.capture_time)
        magnitudes = sorted(abs(e) for e in errors)
        assert magnitudes[len(errors) // 2] < 0.5, source  # the median; before: 7 s on each source
        assert magnitudes[-1] < 1.5, source  # within about the metrics interval everywhere


def test_drain_estimate_counts_frames_sent_not_frames_released() -> None:
    """The session's client buffer sits between the policy and the socket: frames the policy released
    may still wait there (reconnect gap, catch-up). Only real sends (``time_map.record_sent``) count."""
    clock = FakeClock()
    policy: ThrottlePolicy[Frame] = ThrottlePolicy(clock=clock)  # off: releases everything at once
    downstream: deque[Frame] = deque()
    for tick in range(1, 501):  # 10 s: released at 1x, sent at 0.5x, server queue steady at 1 s
        clock.now = tick * TICK
        policy.push(Frame(MIC, bytes(640), tick * TICK, tick))
        downstream.extend(policy.next_frames())
        if tick % 2 == 0:
            policy.time_map.record_sent(downstream.popleft())
        if tick % 50 == 0:
            policy.on_metrics(MetricsEvent(source="mic", queue_bytes=32000, queue_bytes_max=64000,
                                           queue_fill_ratio=0.5, dropped_total=0, dropped_recent=0))
    estimate = policy.state().sources[0].drain_estimate
    assert estimate == pytest.approx(0.5, abs=0.02)  # before: 1.0, the release rate


def test_recovers_within_15_s_after_an_episode_with_dense_speech() -> None:
    """Dense speech (4 s words, 1 s pauses) on two sources, a backend at 0.625x for 20 s, then 2x:
    during the episode the rate stays at the measured drain (no sawtooth up to 1x and back); after
    it the rate climbs to the 1.5x catch-up rate and the backlog is gone well within 15 s."""
    sim = make(drain=2.0)
    dense = lambda s, i: (i // 50) % 5 != 4  # noqa: E731
    sources = (MIC, SYSTEM)
    sim.run(10.0, sources=sources, speech=dense)
    sim.server.drain = 0.625
    rates: list[float] = []
    for _ in range(20):
        sim.run(1.0, sources=sources, speech=dense)
        rates.append(max(s.rate for s in sim.policy.state().sources))
    assert max(rates[8:]) <= 0.7  # once measured, increases stop at the drain (before: up to 0.98)
    held = sim.policy.backlog_seconds()
    assert held > 4.0  # a real backlog to catch up on
    sim.server.drain = 2.0
    recovered = None
    peak = 0.0
    for second in range(1, 31):
        sim.run(1.0, sources=sources, speech=dense)
        peak = max(peak, max(s.rate for s in sim.policy.state().sources))
        if recovered is None and sim.policy.backlog_seconds() < 0.5:
            recovered = second
    assert peak == pytest.approx(1.5)  # the catch-up rate is reached (before: about 1.05)
    assert recovered is not None and recovered <= 15
    assert sim.policy.state().mode is ThrottleMode.LIVE  # and silence is sent again
    assert sim.server.dropped_total * TICK < 3.0


def test_sparse_speech_episode_does_not_flip_between_live_and_skipping() -> None:
    """Sparse speech into a backend at 0.625x: skipping silence keeps the backlog near zero, but
    going live on a budget below real time would rebuild it at once (silence is sent), so the policy
    stays skipping until the budget affords real time (before: live/skipping every 3 s)."""
    sim = make(drain=2.0)
    sparse = lambda s, i: (i // 50) % 3 == 0  # noqa: E731  (1 s words, 2 s pauses)
    sim.run(10.0, sources=(MIC, SYSTEM), speech=sparse)
    sim.server.drain = 0.625
    modes, mode = [], sim.policy.state().mode
    for _ in range(600):
        sim.run(0.1, sources=(MIC, SYSTEM), speech=sparse)
        if sim.policy.state().mode is not mode:
            mode = sim.policy.state().mode
            modes.append(mode)
    assert modes == [ThrottleMode.SKIP_SILENCE]
    assert sim.policy.backlog_seconds() < 1.5 and sim.server.dropped_total == 0
