"""The figures of one overload-benchmark run (one scenario, one throttling mode), from its ``RawRun``.

Ground truth is the backend's recordings (what it received, which bytes the recognizer consumed in
which chunk and when) traced frame by frame to the captured frames they were, and the client's own
transcript only to learn which chunks' finals reached it. Everything is in meeting time (seconds from
the files' first sample). Definitions: ``overload_analysis`` (lag, fates) and ``DEFINITIONS`` here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.bench import overload_analysis as oa
from app.bench.meeting import Meeting
from app.bench.overload_run import CHUNK_SECONDS, ConnectionTrace, RawRun
from app.bench.overload_scenarios import Scenario
from app.core.losses import LossCause, SourceLosses
from app.core.messages import FRAME_SECONDS, Source
from app.core.session_state import StopOutcome, TranscriptSegment

GRID_SECONDS = 0.1
LAG_MARGIN_SECONDS = 0.5  # recovered: lag within the backend's own chunk wait plus this
FLOW_CEILING = 4.0  # x real time per source: the client never sends faster (app.core.flow)
OUTSIDE_TOLERANCE = 0.1
ALARM_LEVELS = ("buffering", "overloaded")  # server level (backpressureLevel)
ALARM_LIGHTS = ("behind", "losing")  # the status light (app.core.status)

DEFINITIONS = {
    "speech_preserved": "true speech (from the clean signal) whose audio the recognizer consumed in a chunk "
    "whose finals reached the client, over all true speech; per source and overall",
    "speech_lost_seconds": "true speech by the fate of its audio: server_drop (the backend dropped it from "
    "its queue, or left it at stop), in_transit (in the queue or a chunk being transcribed when a "
    "connection died, and never sent again), client_shed (the client's hold was full, or the flush at "
    "stop gave up), skipped_as_silence (the voice detector called it silence: never sent)",
    "lag": oa.LAG_DEFINITION,
    "recovery_seconds": "from when the backend drains at its fast rate again (the episode's end, or a "
    "stall's if later) until the lag stays below the backend's own chunk wait (RTF x 2 s chunk, twice "
    "that with one shared recognizer) plus 0.5 s, to the end of the meeting",
    "timestamp_error_seconds": "per edge of every final segment the client shows (its t0/t1, session time "
    "mapped to meeting time), against the true capture time of the audio the recognizer consumed for "
    "that segment's processed range (provenance -> received frames -> the captured frames they were); "
    "the client's time mapping, the target. speech_edge_error_seconds: against the true speech that "
    "audio contains (adds the recognizer's own 2 s chunk boundaries), for reference",
    "catch_up_start_seconds": "from the first chunk the recognizer cut at its fast rate after the "
    "episode/stall (provenance) until the client's held audio had fallen 0.2 s below its highest since; "
    "null when less than 0.5 s was held then",
    "amber_warning_seconds": "from the status light first turning amber (behind) to its first red (losing) "
    "in the run; 0 when red came without amber first; null with first_red null: never red",
    "alarms_in_healthy_stretch": "server-level changes to buffering/overloaded and status-light changes to "
    "behind/losing before the first overload or fault",
    "server_dropped_seconds": "reported: the client's session_end figure; true: captured audio (speech or "
    "not) the backend dropped and no other copy of which was transcribed (from its recordings); "
    "copies_dropped: every received copy it dropped, including copies resent after a reconnect and "
    "transcribed there",
    "held_audio_peak": "the most the client held per source (hold + resend window), in seconds and MiB "
    "(frames x the size of one frame object with its PCM), against the bound (hold setting + 30 s window)",
}


@dataclass(frozen=True, slots=True)
class Kept:
    """Share of each source's frames the client sends when it skips silence (its detector through the
    gate) during the episode and after it; 1.0 without skipping."""

    episode: dict[str, float]
    after: dict[str, float]


def analyse(raw: RawRun, meeting: Meeting, scenario: Scenario, kept: Kept, hold_seconds: float,
            resend_seconds: float) -> dict[str, Any]:
    seconds = scenario.seconds
    grid = [float(t) for t in np.arange(0.0, seconds, GRID_SECONDS)]
    start = raw.stream_start
    zero = raw.schedule_origin  # the schedule's (and the faults') second 0, in meeting time
    drains = None if scenario.drains_at is None else zero + scenario.drains_at
    per = {src: _source(raw, src, list(meeting.speech[Source(src)]), grid, seconds, drains)
           for src in raw.traces}
    lag_max = [max(v) for v in zip(*(p.pop("lag") for p in per.values()), strict=True)] or [0.0] * len(grid)
    live = [v for t, v in zip(grid, lag_max, strict=True) if t >= start]
    spoken = sum(p["speech_seconds"] for p in per.values())
    kept_speech = sum(p["speech_transcribed_seconds"] for p in per.values())
    mapping = [e for p in per.values() for e in p.pop("mapping_errors")]
    edges = [e for p in per.values() for e in p.pop("edge_errors")]
    wait = scenario.rtf * CHUNK_SECONDS * (2 if scenario.shared else 1)
    recovery = (None if drains is None
                else oa.recovery_seconds(grid, lag_max, drains, wait + LAG_MARGIN_SECONDS))
    levels = [(raw.meeting_time(t), level, reason) for t, level, reason in raw.probe.levels]
    lights = [(raw.meeting_time(t), light, words) for t, light, words in raw.probe.lights]
    healthy = (start, zero + scenario.healthy_until)
    catch = [p["catch_up_start_seconds"] for p in per.values() if p["catch_up_start_seconds"] is not None]

    def by(key: str) -> dict[str, Any]:
        return {src: figures[key] for src, figures in per.items()}

    return {
        "throttle": raw.mode,
        "outcome": raw.ended.outcome.value,
        "message": raw.ended.message,
        "reconnects": raw.ended.reconnects,
        "faults_meeting_seconds": [[kind, round(a, 2), round(b, 2)] for kind, a, b in raw.faults],
        "speech_preserved": round(kept_speech / spoken, 4) if spoken else None,
        "speech_preserved_by_source": by("speech_preserved"),
        "speech_lost_seconds": by("speech_lost_seconds"),
        "lag_max_seconds": round(max(live, default=0.0), 2),
        "lag_p90_seconds": oa.percentile(live, 90),
        "lag_by_source": by("lag_seconds"),
        "recovery_seconds": None if recovery is None else round(recovery, 2),
        "recovered_when_lag_below_seconds": round(wait + LAG_MARGIN_SECONDS, 2),
        "drains_at_meeting_seconds": None if drains is None else round(drains, 2),
        "catch_up_start_seconds": round(max(catch), 2) if catch else None,
        "catch_up_start_by_source": by("catch_up_start_seconds"),
        "timestamp_error_seconds": oa.stats(mapping),
        "speech_edge_error_seconds": oa.stats(edges),
        "segments": sum(p["segments"] for p in per.values()),
        "segments_paired": sum(p["segments_paired"] for p in per.values()),
        "segments_outside_session": sum(p["segments_outside_session"] for p in per.values()),
        "approximate_segments": sum(p["approximate_segments"] for p in per.values()),
        "approximate_beyond_their_error": sum(p["approximate_beyond_their_error"] for p in per.values()),
        "server_dropped_seconds": {"reported": by("reported_server_dropped_seconds"),
                                   "true": by("true_server_dropped_seconds"),
                                   "copies_dropped": by("server_dropped_copies_seconds")},
        "client_reported_losses": by("reported_losses"),
        "held_audio_peak": {src: _memory(raw, src, hold_seconds, resend_seconds) for src in per},
        "server_backlog_max_seconds": {s: round(v, 2) for s, v in raw.probe.server_backlog_max.items()},
        "healthy_stretch_meeting_seconds": [round(healthy[0], 2), round(healthy[1], 2)],
        "alarms_in_healthy_stretch": [[round(t, 2), level, reason] for t, level, reason in levels
                                      if healthy[0] <= t < healthy[1] and level in ALARM_LEVELS]
        + [[round(t, 2), f"light {light}", words] for t, light, words in lights
           if healthy[0] <= t < healthy[1] and light in ALARM_LIGHTS],
        "amber_warning": amber_warning(lights),
        "physics": with_slow_tail(physics(scenario, kept if raw.mode == "on" else None, hold_seconds),
                                  by("slow_tail_seconds")),
        "level_timeline": [[round(t, 2), level, reason] for t, level, reason in levels],
        "light_timeline": [[round(t, 2), light, words] for t, light, words in lights],
        "throttle_timeline": [[round(raw.meeting_time(t), 2), note] for t, note in raw.probe.notes],
        "lag_timeline": oa.per_second_max(grid, lag_max),
        "provenance": by("provenance"),
    }


def amber_warning(lights: Sequence[tuple[float, str, str]]) -> dict[str, float | None]:
    """The warning the status light gave: first amber, first red (meeting time) and the seconds between
    (0 when red came first or without amber; ``seconds`` None when it never turned red)."""
    amber = next((t for t, light, _ in lights if light == "behind"), None)
    red = next((t for t, light, _ in lights if light == "losing"), None)
    seconds = None if red is None else (0.0 if amber is None or amber > red else round(red - amber, 2))
    return {"first_amber": None if amber is None else round(amber, 2),
            "first_red": None if red is None else round(red, 2), "seconds": seconds}


def _source(raw: RawRun, src: str, speech: list[oa.Interval], grid: list[float], seconds: float,
            drains: float | None) -> dict[str, Any]:
    traces = raw.traces[src]
    finals = raw.finals(src)
    ends = raw.connection_ends()
    complete = raw.ended.outcome is StopOutcome.SUMMARY
    fate: dict[float, str] = {}
    copies: list[tuple[float, str, float]] = []
    copies_dropped = 0
    mapping: list[float] = []
    edges: list[float] = []
    paired = approximate = beyond = 0
    for k, trace in enumerate(traces):
        last = k == len(traces) - 1
        ended = ends[k] if k < len(ends) else raw.meeting_time(raw.ended.t)
        shown = finals[k] if k < len(finals) else []
        delivered = oa.delivered_chunks(trace.chunk_finals, len(shown), complete and last)
        fates = oa.copy_fates(trace.frames, delivered, complete and last, ended)
        for frame, (what, resolved) in zip(trace.frames, fates, strict=True):
            copies_dropped += what == oa.SERVER_DROP
            if frame.capture is None:
                continue
            copies.append((frame.capture, what, resolved))
            if fate.get(frame.capture) != oa.TRANSCRIBED:
                fate[frame.capture] = what
        timing = _timing(raw, trace, shown, speech)
        mapping += timing["mapping"]
        edges += timing["edges"]
        paired += timing["paired"]
        approximate += timing["approximate"]
        beyond += timing["beyond"]
    reported = raw.ended.losses.get(src, SourceLosses())
    counters = raw.ended.sources.get(Source(src))
    padding = 0 if counters is None or not traces else counters.padding_frames
    # the stop padding (silence after the last captured frame, app.core.stop_pad) matches no capture
    padded = sum(f.capture is None for f in traces[-1].frames[-padding:]) if padding else 0
    shed_spans = [(raw.meeting_time(s.start), raw.meeting_time(s.end))
                  for s in reported.spans if s.cause is LossCause.CLIENT_SHED]
    for capture in raw.captures[src]:
        if capture not in fate:
            inside = any(a - 1e-6 <= capture < b for a, b in shed_spans)
            fate[capture] = oa.CLIENT_SHED if inside else oa.SKIPPED
    by_fate = {what: oa.frame_intervals(sorted(c for c, f in fate.items() if f == what)) for what in oa.FATES}
    spoken = oa.total(speech)
    transcribed = oa.total(oa.intersection(speech, by_fate[oa.TRANSCRIBED]))
    lag = oa.lag_from(oa.first_resolutions(copies), grid)
    live = [v for t, v in zip(grid, lag, strict=True) if t >= raw.stream_start]
    times, held = _held(raw, src)
    cut = _first_cut(traces, drains)
    catch = None if cut is None else oa.catch_up_start(times, held, cut)
    outside = sum(raw.meeting_time(s.t0) < -OUTSIDE_TOLERANCE
                  or raw.meeting_time(s.t1) > seconds + OUTSIDE_TOLERANCE for segs in finals for s in segs)
    return {
        "lag": lag,
        "mapping_errors": mapping,
        "edge_errors": edges,
        "speech_seconds": spoken,
        "speech_transcribed_seconds": transcribed,
        "speech_preserved": round(transcribed / spoken, 4) if spoken else None,
        "speech_lost_seconds": {what: round(oa.total(oa.intersection(speech, by_fate[what])), 2)
                                for what in oa.FATES if what != oa.TRANSCRIBED},
        "lag_seconds": {"max": round(max(live, default=0.0), 2), "p90": oa.percentile(live, 90)},
        "catch_up_start_seconds": None if catch is None else round(catch, 2),
        "slow_tail_seconds": None if cut is None or drains is None else cut - drains,
        "segments": sum(len(segs) for segs in finals),
        "segments_paired": paired,
        "segments_outside_session": outside,
        "approximate_segments": approximate,
        "approximate_beyond_their_error": beyond,
        "reported_server_dropped_seconds": round(reported.server_dropped_seconds, 2),
        "true_server_dropped_seconds": round(sum(f == oa.SERVER_DROP for f in fate.values()) * FRAME_SECONDS,
                                             2),
        "server_dropped_copies_seconds": round(copies_dropped * FRAME_SECONDS, 2),
        "reported_losses": {"server_drop": round(reported.server_dropped_seconds, 2),
                            "client_shed": round(reported.client_shed_seconds, 2),
                            "in_transit": round(reported.lost_in_transit_seconds, 2),
                            "stop_tail": round(reported.stop_tail_seconds, 2)},
        "provenance": {"frames_captured": raw.captured[src],
                       "frames_received": sum(len(t.frames) for t in traces),
                       "frames_unmatched": sum(f.capture is None for t in traces for f in t.frames) - padded,
                       "frames_padding": padded,
                       "frames_beyond_recording": sum(t.frames_beyond_recording for t in traces),
                       "captured_duplicates": raw.duplicates[src], "connections": len(traces)},
    }


def _timing(raw: RawRun, trace: ConnectionTrace, shown: Sequence[TranscriptSegment],
            speech: list[oa.Interval]) -> dict[str, Any]:
    """One connection's segments paired with the recognizer's finals (``oa.timing_errors``); segments
    marked approximate are checked against their own ``error_seconds``."""
    server: list[oa.Interval] = []
    for chunk in trace.chunk_finals:
        if chunk is None:
            break
        server += chunk
    consumed = oa.captures(trace.frames, consumed=True)
    segs = [(raw.meeting_time(s.t0), raw.meeting_time(s.t1)) for s in shown]
    timing = oa.timing_errors(segs, server, consumed, speech)
    out: dict[str, Any] = {"mapping": [], "edges": [], "paired": 0, "approximate": 0, "beyond": 0}
    if timing is None:
        return out
    out["mapping"], out["edges"] = timing.mapping, timing.shown
    out["paired"] = len(timing.mapping) // 2
    for k, seg in enumerate(shown[: out["paired"]]):
        if seg.approximate:
            out["approximate"] += 1
            out["beyond"] += max(timing.mapping[2 * k : 2 * k + 2]) > seg.error_seconds + FRAME_SECONDS
    return out


def _held(raw: RawRun, src: str) -> tuple[list[float], list[float]]:
    samples = raw.probe.held
    return ([raw.meeting_time(t) for t, _ in samples],
            [held.get(src, 0) * FRAME_SECONDS for _, held in samples])


def _first_cut(traces: list[ConnectionTrace], after: float | None) -> float | None:
    if after is None:
        return None
    cuts = [c for trace in traces for c in trace.chunk_cuts if c >= after]
    return min(cuts, default=None)


def _memory(raw: RawRun, src: str, hold_seconds: float, resend_seconds: float) -> dict[str, float]:
    frames = raw.probe.memory_max.get(src, 0)
    bound = round((hold_seconds + resend_seconds) / FRAME_SECONDS)
    mib = 1024 * 1024
    return {"seconds": round(frames * FRAME_SECONDS, 1),
            "hold_seconds": round(max((h.get(src, 0) for _, h in raw.probe.held), default=0)
                                  * FRAME_SECONDS, 1),
            "window_seconds": round(raw.probe.window_max.get(src, 0) * FRAME_SECONDS, 1),
            "mib": round(frames * raw.frame_bytes / mib, 2),
            "bound_seconds": round(bound * FRAME_SECONDS, 1),
            "bound_mib": round(bound * raw.frame_bytes / mib, 2)}


def with_slow_tail(out: dict[str, Any], tails: dict[str, float | None]) -> dict[str, Any]:
    """``physics`` of one run, plus how long each source's recognizer still ran a slow chunk after the
    episode's end (until it cut its first chunk at the fast rate) and the floor that makes for this run:
    that tail + backlog / rate."""
    floors = out["shortest_recovery_seconds"]
    if not isinstance(floors, dict) or not any(t is not None for t in tails.values()):
        return out
    out["slow_tail_seconds"] = {s: None if t is None else round(t, 2) for s, t in tails.items()}
    out["shortest_recovery_this_run_seconds"] = {
        s: None if floors.get(s) is None or tails.get(s) is None else round(floors[s] + tails[s], 1)
        for s in floors}
    out["arithmetic"] += "; this run: + the slow chunk the recognizer was still on after the episode"
    return out


def physics(scenario: Scenario, kept: Kept | None, hold_seconds: float) -> dict[str, Any]:
    """What the backend CAN do, whatever the client: the backlog an episode must leave per source, the
    shortest recovery it allows, and the audio that cannot fit the hold (must be lost). ``kept``: the
    share the client sends (None: everything, throttling off)."""
    start, end = scenario.episode
    length = (scenario.seconds if end is None else end) - start
    capacity = 1.0 / scenario.episode_rtf  # per source (per session when shared)
    fast = min(FLOW_CEILING, 1.0 / scenario.rtf)
    sources = (Source.SYSTEM.value, Source.MIC.value)
    during = {s: 1.0 if kept is None else kept.episode.get(s, 1.0) for s in sources}
    after = {s: 1.0 if kept is None else kept.after.get(s, 1.0) for s in sources}
    stalled = sum(f.seconds for f in scenario.faults if f.kind == "stall")
    if scenario.shared:
        backlog = max(0.0, (sum(during.values()) - capacity) * length) + sum(during.values()) * stalled
        rate = 1.0 / scenario.rtf - sum(after.values())
        floor = None if end is None else (backlog / rate if rate > 0 else None)
        return {"backlog_at_episode_end_seconds": round(backlog, 1), "shortest_recovery_seconds":
                None if floor is None else round(floor, 1),
                "beyond_hold_seconds": round(max(0.0, backlog - 2 * hold_seconds), 1),
                "arithmetic": f"one recognizer: ({' + '.join(f'{during[s]:.2f}' for s in sources)} sent - "
                f"{capacity:.3f} processed) x {length:g} s + stalls; drained at 1/{scenario.rtf:g} - "
                f"{sum(after.values()):.2f} per s"}
    # A chunk the recognizer began just before the episode's end still runs at the slow rate: on
    # average half a slow chunk passes before the fast rate starts draining anything.
    slow_chunk = scenario.episode_rtf * CHUNK_SECONDS
    out: dict[str, Any] = {"backlog_at_episode_end_seconds": {}, "shortest_recovery_seconds": {},
                           "expected_recovery_seconds": {}, "beyond_hold_seconds": {}}
    for s in sources:
        backlog = max(0.0, (during[s] - capacity) * length) + during[s] * stalled
        rate = fast - after[s]
        out["backlog_at_episode_end_seconds"][s] = round(backlog, 1)
        floor = None if end is None or rate <= 0 else backlog / rate
        out["shortest_recovery_seconds"][s] = None if floor is None else round(floor, 1)
        out["expected_recovery_seconds"][s] = (None if floor is None or backlog <= 0
                                               else round(floor + slow_chunk / 2, 1))
        out["beyond_hold_seconds"][s] = round(max(0.0, backlog - hold_seconds), 1)
    shares = ", ".join(f"{s} {during[s]:.2f}" for s in sources)
    out["arithmetic"] = (f"per source: (share sent {shares} - {capacity:.3f} processed) x {length:g} s of "
                         f"episode + share x {stalled:g} s stalled; drained at min({FLOW_CEILING:g}, "
                         f"1/{scenario.rtf:g}) - share sent after; the hold keeps {hold_seconds:g} s; "
                         f"expected: + half a slow chunk ({scenario.episode_rtf:g} x {CHUNK_SECONDS:g} s "
                         f"/ 2, begun before the episode's end) before the fast rate drains anything")
    return out

