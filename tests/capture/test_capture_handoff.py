"""The bounded hand-off between the PortAudio callback and the event loop (no device needed: the
callback side is driven directly, as PortAudio would call it)."""

from __future__ import annotations

import numpy as np

from app.capture.handoff import BlockHandOff


class StepClock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_blocks_come_out_in_order_with_positions_and_callback_times() -> None:
    clock = StepClock(10.0)
    handoff = BlockHandOff(1000, capacity_seconds=1.0, clock=clock)
    for k in range(3):
        clock.t = 10.0 + k * 0.1
        handoff.push(np.full((100, 2), k, dtype=np.float32))
    out = handoff.drain()
    assert [(int(b[0, 0]), pos, t) for b, pos, t in out] == [(0, 0, 10.0), (1, 100, 10.1), (2, 200, 10.2)]
    assert handoff.drain() == []


def test_push_copies_because_portaudio_reuses_its_buffer() -> None:
    handoff = BlockHandOff(1000)
    buffer = np.zeros((10, 1), dtype=np.float32)
    handoff.push(buffer)
    buffer[:] = 1.0
    ((block, _, _),) = handoff.drain()
    assert not block.any()


def test_full_handoff_drops_newest_counts_it_and_keeps_positions_true() -> None:
    handoff = BlockHandOff(1000, capacity_seconds=0.5)  # 500 samples
    for _ in range(8):  # 800 samples while the loop is stalled
        handoff.push(np.ones((100, 1), dtype=np.float32), overflow=False)
    counters = handoff.counters(captured_frames=0)
    assert counters.handoff_drops == 3 and counters.dropped_seconds == 0.3
    queued = handoff.drain()
    assert sum(len(samples) for samples, _, _ in queued) / handoff.rate == 0.5  # what it held: its capacity
    assert [pos for _, pos, _ in queued] == [0, 100, 200, 300, 400]
    handoff.push(np.ones((100, 1), dtype=np.float32))  # room again after the drain
    ((_, pos, _),) = handoff.drain()
    assert pos == 800  # the dropped audio is a gap in the device timeline, not erased from it


def test_overflow_flags_are_counted_and_push_never_raises() -> None:
    handoff = BlockHandOff(1000)
    handoff.push(np.zeros((10, 1), dtype=np.float32), overflow=True)
    handoff.push(None)  # type: ignore[arg-type]  # garbage from a broken driver must not raise
    counters = handoff.counters(captured_frames=5)
    assert counters.callback_overflows == 1 and counters.callback_errors == 1
    assert counters.captured_frames == 5
