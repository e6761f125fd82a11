"""Pure analysis for the overload benchmark: intervals, provenance, lag, recovery, timestamp errors.

No I/O, no clocks: every function takes plain numbers (seconds on one time axis, "meeting time" =
seconds from the first sample of the replayed files) and returns plain numbers, so tests feed
hand-made cases. Intervals are half-open ``(start, end)`` pairs in seconds.

Lag (``LAG_DEFINITION``): per source, at time t, t minus the capture time of the oldest frame that
reached the backend and that the recognizer had not consumed yet at t (client hold + send buffer +
network + server queue + the step in progress); 0 when nothing is pending. A frame the backend dropped
counts as consumed when the recognizer consumes the next frame after it (it left the queue by then at
the latest); a frame a dead connection took with it, when that connection ended. Frames the client
never sent (silence skipped, backlog shed) are never pending.

Fates (``FATES``): every copy of a frame a connection received ends transcribed (consumed in a chunk
whose finals reached the client), dropped by the server (not consumed, with later audio consumed; or
left over when a connection that completed ended), or in transit (in the queue, or in a chunk being
transcribed, when a connection died). A captured frame's fate is "transcribed" if any copy was, else
its last copy's; never received: shed by the client, or skipped as silence.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.core.messages import FRAME_BYTES, FRAME_SECONDS

Interval = tuple[float, float]

LAG_DEFINITION = (
    "Per source, at each instant t (10 Hz grid, meeting time): t minus the capture time of the oldest "
    "captured frame that reached the backend and was not yet consumed by the recognizer at t (so it "
    "covers client hold + send buffer + network + server queue); 0 when nothing is pending. A frame the "
    "backend dropped counts as consumed when the recognizer consumed the next frame after it. Frames "
    "the client never sent (silence skipped, backlog shed) are not pending. A frame sent more than once "
    "(resent after a reconnect) is pending until its first copy was transcribed (or else dropped; a "
    "copy lost with a dead connection keeps it pending). Reported lag = max over sources."
)

TIMESTAMP_ERROR_DEFINITION = (
    "Per final segment the client shows (its t0/t1 mapped by the session's own TimeMap, in meeting time): "
    "|shown edge - true edge| for both edges, where the truth is the true speech the segment's audio "
    "really contains (the server's t0/t1 traced exactly to capture time through the provenance log, then "
    "the hull of the true speech intervals it overlaps). Split into client_time_mapping (shown vs exact "
    "capture time) and recognizer_boundaries (exact vs true speech). timestamp_error_nearest_interval "
    "compares shown times with the nearest true interval instead; it understates a segment misplaced "
    "onto another utterance."
)

# --------------------------------------------------------------------------- intervals


def merge(intervals: Iterable[Interval], gap: float = 0.0) -> list[Interval]:
    """Sorted union; intervals closer than ``gap`` (or touching) become one. Empty ones are dropped."""
    out: list[Interval] = []
    for start, end in sorted(iv for iv in intervals if iv[1] > iv[0]):
        if out and start - out[-1][1] <= max(gap, 0.0) + 1e-9:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def total(intervals: Iterable[Interval]) -> float:
    return float(sum(end - start for start, end in merge(intervals)))


def intersection(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The intersection of two interval sets (each merged first)."""
    xs, ys = merge(a), merge(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        start, end = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if end > start:
            out.append((start, end))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def frame_intervals(starts: Iterable[float], frame_seconds: float = FRAME_SECONDS) -> list[Interval]:
    """The time covered by frames starting at ``starts``, merged."""
    return merge(((t, t + frame_seconds) for t in starts), gap=frame_seconds / 4)


def speech_intervals(samples: npt.NDArray[np.int16], rate: int, threshold_dbfs: float = -50.0,
                     frame_seconds: float = 0.01, merge_gap: float = 0.15) -> list[Interval]:
    """True speech on a CLEAN signal: frames whose RMS clears ``threshold_dbfs``; pauses shorter than
    ``merge_gap`` merged."""
    n = max(1, round(frame_seconds * rate))
    whole = samples.size - samples.size % n
    frames = samples[:whole].astype(np.float64).reshape(-1, n) / 32768.0
    loud = (frames * frames).mean(axis=1) >= 10 ** (threshold_dbfs / 10)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], loud.astype(np.int8), [0]))))
    runs = [(edges[k] * n / rate, edges[k + 1] * n / rate) for k in range(0, edges.size, 2)]
    return merge(runs, gap=merge_gap - 1e-9)


# --------------------------------------------------------------------------- provenance


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    """One frame of a connection's received stream, in meeting time."""

    capture: float | None  # capture time of its first sample; None: not one of the captured frames
    consumed: float | None  # when the recognizer consumed it; None: the backend dropped it
    chunk: int | None = None  # the index of the recognizer's chunk it went into, on its connection


def received_frames(received: bytes, ranges: Iterable[tuple[int, int, float, int]],
                    locate: Callable[[bytes], float | None],
                    frame_bytes: int = FRAME_BYTES) -> list[ReceivedFrame]:
    """Split a received stream into frames; ``ranges`` are provenance ``(start, end, t, chunk)`` byte
    ranges of consumed chunks; ``locate`` gives a frame's capture time from its bytes (None if unknown)."""
    count = len(received) // frame_bytes
    consumed: list[tuple[float, int] | None] = [None] * count
    for start, end, t, chunk in ranges:
        for k in range(max(0, start // frame_bytes), min(count, -(-end // frame_bytes))):
            consumed[k] = (t, chunk)
    out = []
    for k in range(count):
        pcm, used = received[k * frame_bytes : (k + 1) * frame_bytes], consumed[k]
        if used is None:
            out.append(ReceivedFrame(locate(pcm), None))
        else:
            out.append(ReceivedFrame(locate(pcm), used[0], used[1]))
    return out


def frames_beyond(received_bytes: int, ranges: Iterable[tuple[int, int, float, int]],
                  frame_bytes: int = FRAME_BYTES) -> int:
    """Consumed frames (per the provenance) that the received recording does not hold (cut off by a
    killed backend): they cannot be traced."""
    count = received_bytes // frame_bytes
    return sum(max(0, -(-end // frame_bytes) - max(count, start // frame_bytes))
               for start, end, _, _ in ranges)


# --------------------------------------------------------------------------- fates

TRANSCRIBED, SERVER_DROP, IN_TRANSIT, CLIENT_SHED, SKIPPED = (
    "transcribed", "server_drop", "in_transit", "client_shed", "skipped_as_silence")
FATES = (TRANSCRIBED, SERVER_DROP, IN_TRANSIT, CLIENT_SHED, SKIPPED)


def delivered_chunks(chunk_finals: Sequence[Sequence[Interval] | None], received_finals: int,
                     complete: bool) -> int:
    """How many leading chunks of one source on one connection reached the client as transcript:
    all when the connection completed (its summary came); else those whose finals the client
    received (it receives a prefix of what the server sent; a chunk without finals counts with the
    chunks before it). A chunk whose finals are unknown (``None``: not in the recording) ends it."""
    if complete:
        return len(chunk_finals)
    total = 0
    for k, finals in enumerate(chunk_finals):
        if finals is None:
            return k
        total += len(finals)
        if total > received_finals:
            return k
    return len(chunk_finals)


def copy_fates(frames: Sequence[ReceivedFrame], delivered: int, complete: bool,
               ended: float) -> list[tuple[str, float]]:
    """Per received frame of one connection: its fate and when it stopped being pending (consumed;
    dropped: when the next frame was consumed; left in a dead connection: when it ended)."""
    last = max((k for k, f in enumerate(frames) if f.consumed is not None), default=-1)
    out: list[tuple[str, float]] = [(IN_TRANSIT, ended)] * len(frames)
    following = ended
    for k in range(len(frames) - 1, -1, -1):
        f = frames[k]
        if f.consumed is not None:
            following = f.consumed
            chunk = f.chunk if f.chunk is not None else 0
            out[k] = (TRANSCRIBED if chunk < delivered else IN_TRANSIT, f.consumed)
        elif k < last or complete:
            out[k] = (SERVER_DROP, following)
    return out


def captures(frames: Iterable[ReceivedFrame], consumed: bool | None = None) -> list[float]:
    """Capture times of the traced frames: all (``None``), only consumed, or only dropped ones."""
    out: list[float] = []
    for f in frames:
        if f.capture is not None and (consumed is None or (f.consumed is not None) == consumed):
            out.append(f.capture)
    return out


def resolved_times(frames: Sequence[ReceivedFrame], end: float) -> list[float]:
    """When each frame stopped being pending: consumed, or (dropped) when the next frame was consumed."""
    out = [end] * len(frames)
    following = end
    for k in range(len(frames) - 1, -1, -1):
        consumed = frames[k].consumed
        if consumed is not None:
            following = consumed
        out[k] = following
    return out


def lag_series(frames: Sequence[ReceivedFrame], grid: Sequence[float], end: float) -> list[float]:
    """``LAG_DEFINITION`` for one source on ``grid``; ``end`` closes frames never resolved."""
    resolved = resolved_times(frames, end)
    return lag_from(((f.capture, r) for f, r in zip(frames, resolved, strict=True) if f.capture is not None),
                    grid)


def first_resolutions(copies: Iterable[tuple[float, str, float]]) -> list[tuple[float, float]]:
    """``(capture, resolved)`` per captured frame from ``(capture, fate, resolved)`` of all its received
    copies: the earliest transcribed copy, else the earliest dropped one, else the latest lost in
    transit (a resent copy of audio already transcribed does not make it pending again)."""
    rank = {TRANSCRIBED: 0, SERVER_DROP: 1}
    best: dict[float, tuple[int, float]] = {}
    for capture, fate, resolved in copies:
        key = (rank.get(fate, 2), resolved if fate in rank else -resolved)
        if capture not in best or key < best[capture]:
            best[capture] = key
    return [(c, t if r < 2 else -t) for c, (r, t) in best.items()]


def lag_from(copies: Iterable[tuple[float, float]], grid: Sequence[float]) -> list[float]:
    """``LAG_DEFINITION`` on ``grid`` from ``(capture, resolved)`` of every received copy of a source."""
    pairs = sorted(copies)
    if not pairs:
        return [0.0] * len(grid)
    captures = np.array([c for c, _ in pairs])
    # oldest pending at t: the first (by capture time) frame with capture <= t < resolved
    done = np.array([r for _, r in pairs])
    out: list[float] = []
    for t in grid:
        upto = bisect.bisect_right(captures, t)
        pending = np.flatnonzero(done[:upto] > t)
        out.append(float(t - captures[pending[0]]) if pending.size else 0.0)
    return out


def catch_up_start(times: Sequence[float], held: Sequence[float], drains_at: float, *,
                   shrink: float = 0.2, min_held: float = 0.5) -> float | None:
    """Seconds from ``drains_at`` (the backend drains at its fast rate again) until the held audio
    (``held`` seconds sampled at ``times``) has fallen ``shrink`` below its highest since then: when
    catching up visibly started. None if less than ``min_held`` was held at ``drains_at`` (nothing to
    catch up) or it never shrank."""
    peak: float | None = None
    for t, h in zip(times, held, strict=True):
        if t < drains_at:
            continue
        if peak is None:
            if h < min_held:
                return None
            peak = h
        peak = max(peak, h)
        if h <= peak - shrink:
            return t - drains_at
    return None


def percentile(values: Sequence[float], q: float) -> float | None:
    return None if not values else round(float(np.percentile(np.asarray(values, dtype=np.float64), q)), 3)


def recovery_seconds(grid: Sequence[float], lag: Sequence[float], after: float,
                     threshold: float) -> float | None:
    """From ``after`` until lag is below ``threshold`` for good (to the end of ``grid``); 0 if it
    already is at ``after``; None if it never gets there."""
    last_bad = None
    for t, value in zip(grid, lag, strict=True):
        if t >= after and value >= threshold:
            last_bad = t
    if last_bad is None:
        return 0.0
    later = [t for t in grid if t > last_bad]
    return None if not later else max(0.0, later[0] - after)


# --------------------------------------------------------------------------- transcript timing


def reference(span: Interval, speech: Sequence[Interval]) -> Interval | None:
    """The true speech a segment spanning ``span`` stands for: the hull of the true intervals it
    overlaps (a recognizer region may join intervals split by short pauses), else the nearest one;
    None when there is no speech at all."""
    if not speech:
        return None
    t0, t1 = span
    hits = [iv for iv in speech if iv[1] > t0 and iv[0] < t1]
    if hits:
        return min(iv[0] for iv in hits), max(iv[1] for iv in hits)
    return min(speech, key=lambda iv: max(iv[0] - t1, t0 - iv[1], 0.0))


def edge_errors(segment: Interval, speech: Sequence[Interval],
                truth: Interval | None = None) -> tuple[float, float] | None:
    """|t0 - true start| and |t1 - true end| of one transcript segment, against ``truth`` if given,
    else against ``reference(segment, speech)``; None when there is nothing to compare with."""
    ref = truth or reference(segment, speech)
    if ref is None:
        return None
    return abs(segment[0] - ref[0]), abs(segment[1] - ref[1])


def server_to_capture(consumed: Sequence[float], server_seconds: float, *, end: bool = False,
                      frame_seconds: float = FRAME_SECONDS) -> float | None:
    """The EXACT capture time of what the recognizer calls ``server_seconds`` on one connection:
    ``consumed`` = capture times of the frames it consumed, in order (from provenance). ``end``: the
    time is an end edge, so a frame boundary belongs to the frame before it (which may be far from
    the next one, if audio between them was skipped or dropped)."""
    if not consumed:
        return None
    position = server_seconds / frame_seconds
    k = math.ceil(position - 1e-9) - 1 if end else math.floor(position + 1e-9)
    k = min(max(0, k), len(consumed) - 1)
    return consumed[k] + (server_seconds - k * frame_seconds)


@dataclass(frozen=True, slots=True)
class TimingErrors:
    """Edge errors (two per segment) of one connection's transcript, see ``timing_errors``."""

    shown: list[float]  # shown times vs the true speech each segment really contains
    mapping: list[float]  # shown times vs the exact capture time of the server's t0/t1
    recognizer: list[float]  # exact capture time of t0/t1 vs that true speech


def timing_errors(shown: Sequence[Interval], server: Sequence[Interval], consumed: Sequence[float],
                  speech: Sequence[Interval]) -> TimingErrors | None:
    """Pairs the k-th shown segment with the k-th server final (the client receives a prefix of what
    the server sent, in order; the shorter list decides), finds the audio it really is (exact, from
    provenance) and the true speech that audio contains, and measures the shown times against it,
    split into the client's time mapping and the recognizer's own boundaries. None when there is
    nothing to pair or no speech."""
    if not shown or not server:
        return None
    out = TimingErrors([], [], [])
    for (s0, s1), (t0, t1) in zip(shown, server, strict=False):
        e0, e1 = server_to_capture(consumed, t0), server_to_capture(consumed, t1, end=True)
        truth = None if e0 is None or e1 is None else reference((e0, e1), speech)
        if e0 is None or e1 is None or truth is None:
            return None
        out.shown.extend((abs(s0 - truth[0]), abs(s1 - truth[1])))
        out.mapping.extend((abs(s0 - e0), abs(s1 - e1)))
        out.recognizer.extend((abs(e0 - truth[0]), abs(e1 - truth[1])))
    return out


def stats(values: Sequence[float]) -> dict[str, float | int | None]:
    """median, p90 and max (None when empty), and the count."""
    if not values:
        return {"median": None, "p90": None, "max": None, "count": 0}
    arr = np.asarray(values, dtype=np.float64)
    return {"median": round(float(np.median(arr)), 3), "p90": round(float(np.percentile(arr, 90)), 3),
            "max": round(float(arr.max()), 3), "count": len(values)}


# --------------------------------------------------------------------------- timelines


def time_in_levels(changes: Sequence[tuple[float, str]], start: float, end: float) -> dict[str, float]:
    """Seconds spent in each level between ``start`` and ``end``, from ``(time, level)`` changes."""
    out: dict[str, float] = {}
    points = sorted(changes)
    for k, (t, level) in enumerate(points):
        a = max(t, start)
        b = min(points[k + 1][0] if k + 1 < len(points) else end, end)
        if b > a:
            out[level] = round(out.get(level, 0.0) + b - a, 2)
    return out


def per_second_max(grid: Sequence[float], values: Sequence[float]) -> list[list[float]]:
    """``[[second, max value in that second], ...]``: a compact timeline for the JSON output."""
    bins: dict[int, float] = {}
    for t, v in zip(grid, values, strict=True):
        key = math.floor(t + 1e-9)
        bins[key] = max(bins.get(key, 0.0), v)
    return [[float(k), round(v, 2)] for k, v in sorted(bins.items())]
