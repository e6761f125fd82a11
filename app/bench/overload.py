"""``python -m app.bench overload``: speech preserved through an overload episode, throttling off vs on.

One process run streams the same two-source meeting (``app.bench.meeting``: espeak-ng phrases with
pauses and KNOWN speech intervals) twice at real-time pace, once with adaptive throttling off and once
on, each to its own reference backend SUBPROCESS with the simulated recognizer at ``--rtf`` 0.5 except
``--overload-rtf`` 1.6 during ``--episode`` 30-75 s (``--schedule "1.6@30,0.5@75"``); a subprocess keeps
the client's loop measurements clean. By default both runs go concurrently (two sessions on this loop,
two backends; the simulated recognizer only sleeps), halving the wall time; ``--sequential`` runs one
after the other. ``--seconds 24 --episode 6,14`` is the smoke run the tests use. How one run is done
and traced: ``app.bench.overload_run``; the pure analysis: ``app.bench.overload_analysis``.

Ground truth is the backend's recordings: what it received, and which byte ranges the recognizer
consumed and when (``{source}.processed.jsonl``), each received frame traced to the captured frame it
was. Transcript times are the session's own (mapped by its ``TimeMap``: what the client shows).
Everything is in meeting time (seconds from the files' first sample). Per run (``runs.off``/``runs.on``):
speech_preserved_ratio, server-dropped / client-shed / silence-skipped seconds and speech lost by
source, lag (``lag_definition``) max and ``lag_timeline`` ``[second, max lag]``, recovery_seconds
(from the episode's end until the lag stays under 0.5 s), timestamp errors of the final segments
against the true speech (median/p90/max, by source, and split into the client's time mapping vs the
recognizer's own boundaries), client and server backlog maxima, ``level_timeline`` ``[t, level,
reason]`` and ``throttle_timeline`` ``[t, note]``. ``pass`` judges the "on" run against ``targets``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.bench import overload_analysis as oa
from app.bench.meeting import Meeting, MeetingSpec, load_meeting
from app.bench.overload_run import BenchConfig, ConnectionTrace, RawRun, run_mode
from app.core.messages import FRAME_SECONDS, Source
from app.errors import EchoPanelError

COMMAND = "python -m app.bench overload"
MODES = ("off", "on")
LAG_OK_SECONDS = 0.5
GRID_SECONDS = 0.1
TARGETS = {"speech_preserved_ratio_min": 0.98, "recovery_seconds_max": 15.0,
           "timestamp_error_p90_max_seconds": 0.25, "recovered_when_lag_below_seconds": LAG_OK_SECONDS,
           "client_backlog_max_within_bound": True}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0, help="meeting length (default 120)")
    p.add_argument("--episode", default="30,75", metavar="START,END",
                   help="overload episode in seconds into the backend session (default 30,75)")
    p.add_argument("--rtf", type=float, default=0.5, help="recognizer RTF outside the episode (0.5)")
    p.add_argument("--overload-rtf", type=float, default=1.6, help="RTF during the episode (1.6)")
    p.add_argument("--seed", type=int, default=7, help="meeting layout and dither seed")
    p.add_argument("--sequential", action="store_true", help="run off, then on (default: concurrently)")
    p.add_argument("--cache-dir", type=Path, default=None, help="where generated meetings are cached")
    p.add_argument("--keep", type=Path, default=None, metavar="DIR",
                   help="keep the backend recordings and logs here (default: a temporary directory)")
    args = p.parse_args(argv)
    try:
        start, end = (float(x) for x in args.episode.split(","))
        if not 0 <= start < end <= args.seconds:
            raise ValueError
    except ValueError:
        print(f"{COMMAND}: --episode must be START,END with 0 <= START < END <= --seconds", file=sys.stderr)
        return 2
    cfg = BenchConfig(args.seconds, (start, end), args.rtf, args.overload_rtf, args.seed,
                      not args.sequential, args.cache_dir, args.keep)
    try:
        result = asyncio.run(run_bench(cfg, " ".join([COMMAND, *argv])))
    except EchoPanelError as exc:
        print(f"{COMMAND}: {exc}", file=sys.stderr)
        return 2
    print(to_json(result))
    return 0


def to_json(result: dict[str, Any]) -> str:
    """Indented JSON with innermost lists (pairs, bounds) kept on one line, so timelines stay short."""
    text = json.dumps(result, indent=1)
    return re.sub(r"\[[^\[\]{}]*\]", lambda m: re.sub(r"\s*\n\s*", " ", m.group(0)).replace("[ ", "[")
                  .replace(" ]", "]"), text)


async def run_bench(cfg: BenchConfig, command: str = COMMAND) -> dict[str, Any]:
    meeting = load_meeting(MeetingSpec(cfg.seconds, cfg.seed), cfg.cache_dir)
    with tempfile.TemporaryDirectory(prefix="echopanel-overload-") as tmp:
        work = cfg.keep_dir or Path(tmp)
        began = time.monotonic()
        if cfg.concurrent:
            raws = await asyncio.gather(*(run_mode(mode, meeting, cfg, work / mode) for mode in MODES))
        else:
            raws = [await run_mode(mode, meeting, cfg, work / mode) for mode in MODES]
        runs = {mode: analyse(raw, meeting, cfg) for mode, raw in zip(MODES, raws, strict=True)}
    on = runs["on"]
    checks = {
        "speech_preserved": on["speech_preserved_ratio"] >= TARGETS["speech_preserved_ratio_min"],
        "recovery": on["recovery_seconds"] is not None
        and on["recovery_seconds"] <= TARGETS["recovery_seconds_max"],
        "timestamp_error": on["timestamp_error_seconds"]["p90"] is not None
        and on["timestamp_error_seconds"]["p90"] < TARGETS["timestamp_error_p90_max_seconds"],
        "backlog_bound": max(on["client_backlog_max_by_source"].values(), default=0.0)
        <= on["client_backlog_bound_seconds"],
    }
    return {
        "benchmark": "overload",
        "command": command,
        "config": {"meeting_seconds": cfg.seconds, "episode_backend_seconds": list(cfg.episode),
                   "rtf": cfg.rtf, "overload_rtf": cfg.overload_rtf, "schedule": cfg.schedule,
                   "seed": cfg.seed, "concurrent": cfg.concurrent,
                   "wall_seconds": round(time.monotonic() - began, 1),
                   "speech_seconds": {s.value: round(meeting.speech_seconds(s), 2) for s in meeting.files},
                   "recognizer": "simulated (reference backend subprocess)"},
        "lag_definition": oa.LAG_DEFINITION,
        "timestamp_error_definition": oa.TIMESTAMP_ERROR_DEFINITION,
        "targets": TARGETS,
        "runs": runs,
        "pass": {**checks, "all": all(checks.values())},
    }


# --------------------------------------------------------------------------- analysis of one run


def analyse(raw: RawRun, meeting: Meeting, cfg: BenchConfig) -> dict[str, Any]:
    grid = [float(t) for t in np.arange(0.0, cfg.seconds, GRID_SECONDS)]
    stream_start = raw.meeting_time(raw.probe.streaming_at or 0.0)
    episode = (stream_start + cfg.episode[0], stream_start + cfg.episode[1])
    per = {src: _source_figures(raw, src, list(meeting.speech[Source(src)]), grid, cfg.seconds)
           for src in raw.traces}
    lag_max = [max(v) for v in zip(*(p.pop("lag") for p in per.values()), strict=True)] or [0.0] * len(grid)
    spoken = sum(p["speech_seconds"] for p in per.values())
    kept = sum(p["speech_processed_seconds"] for p in per.values())
    errors = [e for p in per.values() for e in p.pop("edge_errors")]
    nearest = [e for p in per.values() for e in p.pop("nearest_errors")]
    mapping = [e for p in per.values() for e in p.pop("mapping_errors")]
    recognizer = [e for p in per.values() for e in p.pop("recognizer_errors")]
    levels = [(raw.meeting_time(t), level, reason) for t, level, reason in raw.probe.levels]

    def by(key: str) -> dict[str, Any]:
        return {src: figures[key] for src, figures in per.items()}

    return {
        "throttle": raw.mode,
        "outcome": raw.ended.outcome.value,
        "message": raw.ended.message,
        "reconnects": raw.ended.reconnects,
        "speech_preserved_ratio": round(kept / spoken, 4) if spoken else None,
        "speech_preserved_by_source": by("speech_preserved_ratio"),
        "server_dropped_seconds": by("server_dropped_seconds"),
        "client_shed_seconds": by("client_shed_seconds"),
        "client_skipped_silence_seconds": by("client_skipped_silence_seconds"),
        "speech_lost_seconds": {s: {"server_dropped": p["speech_server_dropped_seconds"],
                                    "never_sent": p["speech_never_sent_seconds"]} for s, p in per.items()},
        "lag_max_seconds": round(max(lag_max, default=0.0), 2),
        "lag_max_by_source": by("lag_max_seconds"),
        "episode_meeting_seconds": [round(episode[0], 2), round(episode[1], 2)],
        "recovery_seconds": _round(oa.recovery_seconds(grid, lag_max, episode[1], LAG_OK_SECONDS)),
        "timestamp_error_seconds": {**oa.stats(errors), "segments": sum(p["segments"] for p in per.values()),
                                    "segments_without_speech": sum(p["segments_without_speech"]
                                                                   for p in per.values())},
        "timestamp_error_by_source": by("timestamp_error_seconds"),
        "timestamp_error_nearest_interval_seconds": oa.stats(nearest),
        "timestamp_error_split": {"client_time_mapping": oa.stats(mapping),
                                  "recognizer_boundaries": oa.stats(recognizer),
                                  "paired_connections": f"{sum(p['paired'] for p in per.values())}"
                                  f"/{sum(len(raw.traces[s]) for s in per)}"},
        "client_backlog_max_seconds": round(raw.probe.client_backlog_max, 2),
        "client_backlog_max_by_source": {s: round(v, 2)
                                         for s, v in raw.probe.client_backlog_max_by_source.items()},
        # the setting bounds each source's unsent audio (throttle hold + send buffer)
        "client_backlog_bound_seconds": raw.session.config.pipe.buffer_seconds,
        "server_backlog_max_seconds": {s: round(v, 2) for s, v in raw.probe.server_backlog_max.items()},
        "server_dropped_frames_reported": raw.ended.server_dropped_frames,
        "level_seconds": oa.time_in_levels([(t, level) for t, level, _ in levels], 0.0, cfg.seconds),
        "level_timeline": [[round(t, 2), level, reason] for t, level, reason in levels],
        "throttle_timeline": [[round(raw.meeting_time(t), 2), note] for t, note in raw.probe.notes],
        "lag_timeline": oa.per_second_max(grid, lag_max),
        "provenance": by("provenance"),
    }


def _source_figures(raw: RawRun, src: str, speech: list[oa.Interval], grid: list[float],
                    seconds: float) -> dict[str, Any]:
    traces = raw.traces[src]
    frames = [f for trace in traces for f in trace.frames]
    end = max([f.consumed for f in frames if f.consumed is not None], default=seconds)
    processed = oa.frame_intervals(oa.captures(frames, consumed=True))
    dropped = oa.frame_intervals(oa.captures(frames, consumed=False))
    received = oa.frame_intervals(oa.captures(frames))
    spoken, kept = oa.total(speech), oa.total(oa.intersection(speech, processed))
    counters = raw.ended.sources.get(Source(src))
    timing = _timing(raw, src, traces, speech)
    lag = oa.lag_series(frames, grid, end)
    return {
        **timing,
        "lag": lag,
        "speech_seconds": spoken,
        "speech_processed_seconds": kept,
        "speech_preserved_ratio": round(kept / spoken, 4) if spoken else None,
        "speech_server_dropped_seconds": round(oa.total(oa.intersection(speech, dropped)), 2),
        "speech_never_sent_seconds": round(spoken - oa.total(oa.intersection(speech, received)), 2),
        "server_dropped_seconds": round(sum(f.consumed is None for f in frames) * FRAME_SECONDS, 2),
        "client_shed_seconds": _seconds(counters.lost_frames) if counters else None,
        "client_skipped_silence_seconds": _seconds(counters.skipped_frames) if counters else None,
        "lag_max_seconds": round(max(lag, default=0.0), 2),
        "timestamp_error_seconds": oa.stats(timing["edge_errors"]),
        "provenance": {"frames_captured": raw.captured[src], "frames_received": len(frames),
                       "frames_unmatched": sum(f.capture is None for f in frames),
                       "captured_duplicates": raw.duplicates[src]},
    }


def _timing(raw: RawRun, src: str, traces: list[ConnectionTrace],
            speech: list[oa.Interval]) -> dict[str, Any]:
    """Timestamp errors of the final segments the client shows (see ``oa.timing_errors``); the
    nearest-interval comparison is the fallback for a connection whose segments cannot be paired."""
    out: dict[str, Any] = {"edge_errors": [], "nearest_errors": [], "mapping_errors": [],
                           "recognizer_errors": [], "segments": 0, "segments_without_speech": 0, "paired": 0}
    for trace, segs in zip(traces, raw.finals(src), strict=True):
        shown = [(raw.meeting_time(s.t0), raw.meeting_time(s.t1)) for s in segs]
        out["segments"] += len(shown)
        nearest = [e for seg in shown for e in oa.edge_errors(seg, speech) or ()]
        out["nearest_errors"] += nearest
        out["segments_without_speech"] += sum(not oa.intersection([seg], speech) for seg in shown)
        consumed = oa.captures(trace.frames, consumed=True)
        timing = oa.timing_errors(shown, trace.server_finals, consumed, speech)
        if timing is None:
            out["edge_errors"] += nearest
            continue
        out["paired"] += 1
        out["edge_errors"] += timing.shown
        out["mapping_errors"] += timing.mapping
        out["recognizer_errors"] += timing.recognizer
    return out


def _seconds(frames: int) -> float:
    return round(frames * FRAME_SECONDS, 2)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
