"""``python -m app.bench overload``: scenarios a weak throttling policy fails, throttling off vs on.

Each scenario (``app.bench.overload_scenarios``: sparse, dense, noisy, shared, until_stop, stall20,
stall60, kill, long) streams a two-source meeting (``app.bench.meeting``) at real-time pace through a
``Session`` twice, throttling off and on, each to its own faithful reference backend subprocess with
the same schedule and faults, both at once (``--sequential``: one after the other). Ground truth is
the backends' recordings (``app.bench.overload_figures``). ``--scenario NAME`` (repeatable) runs some;
``--scale 0.25`` shortens every time (a smoke run); ``--detector energy`` makes throttling use the
old ``EnergyVad`` (to compare detectors end to end).

Output: JSON on stdout (per scenario: its parameters, both runs' figures, the checks against the
targets of issues 12 and 13, with the arithmetic where a target is physically impossible); a
one-screen summary table on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.bench import overload_figures as of
from app.bench.meeting import Meeting, load_meeting
from app.bench.overload_run import RunOptions, run_mode
from app.bench.overload_scenarios import SCENARIOS, Scenario
from app.core.messages import FRAME_BYTES, FRAME_SECONDS
from app.core.server_view import RESEND_SECONDS
from app.core.vad import SpeechTagger, VadConfig, VoiceDetector
from app.errors import EchoPanelError
from app.session.voice import DETECTORS, make_detector

COMMAND = "python -m app.bench overload"
MODES = ("off", "on")
TARGETS = {
    "issue13": {"on_never_below_off": True, "dense_preserved_min": 0.95, "noisy_preserved_min": 0.95,
                "shared_mic_preserved_min": 0.98, "recovery_seconds_max": 5.0,
                "timestamp_error_p90_max_seconds": 0.25},
    "issue12": {"on_speech_lost_per_source_max_seconds": 0.3, "on_timestamp_error_p90_max_seconds": 0.25,
                "on_catch_up_start_max_seconds": 2.0, "off_segments_outside_session": 0,
                "off_timestamp_error_p90_max_seconds": 1.0, "off_timestamp_error_max_seconds": 2.0,
                "off_reported_server_drops_within": 0.2, "alarms_in_healthy_stretch": 0},
}
TOLERANCE = 0.001  # speech-preserved ratios this close count as equal (one 20 ms frame in 20 s)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    p.add_argument("--scenario", action="append", choices=list(SCENARIOS), default=None,
                   help="run this scenario (repeatable; default: all)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every time by this (a short smoke run)")
    p.add_argument("--detector", choices=DETECTORS, default="webrtc",
                   help="the voice detector throttling uses (default webrtc, as the app)")
    p.add_argument("--sequential", action="store_true", help="run off, then on (default: concurrently)")
    p.add_argument("--cache-dir", type=Path, default=None, help="where generated meetings are cached")
    p.add_argument("--keep", type=Path, default=None, metavar="DIR",
                   help="keep the backend recordings and logs here (default: a temporary directory)")
    args = p.parse_args(argv)
    if not 0.05 <= args.scale <= 4:
        print(f"{COMMAND}: --scale must be within 0.05-4", file=sys.stderr)
        return 2
    names = args.scenario or list(SCENARIOS)
    scenarios = [SCENARIOS[n] if args.scale == 1 else SCENARIOS[n].scaled(args.scale) for n in names]
    options = RunOptions(args.cache_dir, args.keep, not args.sequential, args.detector)
    try:
        result = asyncio.run(run_bench(scenarios, options, " ".join([COMMAND, *argv])))
    except EchoPanelError as exc:
        print(f"{COMMAND}: {exc}", file=sys.stderr)
        return 2
    print(to_json(result))
    print(summary_table(result), file=sys.stderr)
    return 0


def to_json(result: dict[str, Any]) -> str:
    """Indented JSON with innermost lists (pairs, bounds) kept on one line, so timelines stay short."""
    text = json.dumps(result, indent=1)
    return re.sub(r"\[[^\[\]{}]*\]", lambda m: re.sub(r"\s*\n\s*", " ", m.group(0)).replace("[ ", "[")
                  .replace(" ]", "]"), text)


async def run_bench(scenarios: list[Scenario], options: RunOptions, command: str = COMMAND) -> dict[str, Any]:
    began = time.monotonic()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="echopanel-overload-") as tmp:
        work = options.keep_dir or Path(tmp)
        for scenario in scenarios:
            out[scenario.name] = await run_scenario(scenario, options, work / scenario.name)
            print(f"{COMMAND}: {scenario.name} done ({time.monotonic() - began:.0f} s)", file=sys.stderr)
    passed = [check["pass"] for s in out.values() for check in s["checks"].values()
              if check["pass"] is not None and not check.get("impossible")]
    return {
        "benchmark": "overload",
        "command": command,
        "config": {"wall_seconds": round(time.monotonic() - began, 1), "concurrent": options.concurrent,
                   "detector": options.detector, "hold_seconds": options.hold_seconds,
                   "resend_window_seconds": RESEND_SECONDS,
                   "recognizer": "simulated, in a reference backend subprocess (faithful: 2 s chunks and "
                                 "queues)"},
        "definitions": of.DEFINITIONS,
        "targets": TARGETS,
        "scenarios": out,
        "all_feasible_checks_pass": all(passed),
    }


async def run_scenario(scenario: Scenario, options: RunOptions, folder: Path) -> dict[str, Any]:
    meeting = load_meeting(scenario.meeting, options.cache_dir)
    began = time.monotonic()
    if options.concurrent:
        raws = await asyncio.gather(*(run_mode(m, scenario, meeting, folder / m, options) for m in MODES))
    else:
        raws = [await run_mode(m, scenario, meeting, folder / m, options) for m in MODES]
    wall = time.monotonic() - began
    kept = kept_shares(meeting, scenario, options.detector)
    runs = {mode: of.analyse(raw, meeting, scenario, kept, options.hold_seconds, RESEND_SECONDS)
            for mode, raw in zip(MODES, raws, strict=True)}
    return {
        "exercises": scenario.exercises,
        "parameters": {"meeting": {"seconds": scenario.seconds, "layout": scenario.meeting.layout,
                                   "room": scenario.meeting.room, "seed": scenario.meeting.seed},
                       "speech_seconds": {s.value: round(meeting.speech_seconds(s), 1)
                                          for s in meeting.files},
                       "rtf": scenario.rtf, "schedule": scenario.schedule,
                       "shared_recognizer": scenario.shared,
                       "faults": [[f.kind, f.at, f.seconds] for f in scenario.faults],
                       "kept_share_when_skipping": {"episode": kept.episode, "after": kept.after},
                       "issue12_scenario": scenario.issue12 or None},
        "wall_seconds": round(wall, 1),
        "runs": runs,
        "checks": checks(scenario, runs["off"], runs["on"]),
    }


def gated(detector: VoiceDetector, pcm: bytes) -> npt.NDArray[np.bool_]:
    """Keep decisions per frame of ``pcm``, through the throttle's own gate (``SpeechTagger`` with
    ``VadConfig()``): what the client sends while it skips silence."""
    tagger: SpeechTagger[int] = SpeechTagger(detector, VadConfig())
    keep: dict[int, bool] = {}
    for k in range(len(pcm) // FRAME_BYTES):
        decided = tagger.push(k, pcm[k * FRAME_BYTES : (k + 1) * FRAME_BYTES])
        if decided is not None:
            keep[decided[0]] = decided[1]
    keep.update(dict(tagger.flush()))
    return np.array([keep[k] for k in range(len(keep))], dtype=bool)


def kept_shares(meeting: Meeting, scenario: Scenario, detector: str) -> of.Kept:
    """The share of frames the client sends while skipping silence, by running its detector through
    the throttle's gate over each source's file: during the episode and after it."""
    start, end = scenario.episode
    stop = scenario.seconds if end is None else end
    make = make_detector(kind=detector)
    episode, after = {}, {}
    for src, path in meeting.files.items():
        with wave.open(str(path)) as w:
            pcm = w.readframes(w.getnframes())
        kept = gated(make(), pcm)
        a, b = round(start / FRAME_SECONDS), round(stop / FRAME_SECONDS)
        episode[src.value] = round(float(kept[a:b].mean()), 3) if b > a else 1.0
        after[src.value] = round(float(kept[b:].mean()), 3) if kept.size > b else 0.0
    return of.Kept(episode, after)


# --------------------------------------------------------------------------- checks


def _check(value: Any, target: Any, ok: bool | None, impossible: str | None = None) -> dict[str, Any]:
    return {"value": value, "target": target, "pass": ok, "impossible": impossible}


def checks(scenario: Scenario, off: dict[str, Any], on: dict[str, Any]) -> dict[str, dict[str, Any]]:
    t13, t12 = TARGETS["issue13"], TARGETS["issue12"]
    out: dict[str, dict[str, Any]] = {}
    below = [s for s, v in on["speech_preserved_by_source"].items()
             if v is not None and off["speech_preserved_by_source"].get(s) is not None
             and v < off["speech_preserved_by_source"][s] - TOLERANCE]
    if on["speech_preserved"] is not None and off["speech_preserved"] is not None:
        below += ["overall"] if on["speech_preserved"] < off["speech_preserved"] - TOLERANCE else []
    out["on_never_below_off"] = _check({"on": on["speech_preserved"], "off": off["speech_preserved"],
                                        "below_in": below}, "on >= off, overall and per source", not below)
    if scenario.min_preserved is not None:
        value = on["speech_preserved"]
        out["on_preserved"] = _check(value, scenario.min_preserved,
                                     value is not None and value >= scenario.min_preserved)
    if scenario.min_mic_preserved is not None:
        value = on["speech_preserved_by_source"].get("mic")
        out["on_mic_preserved"] = _check(value, scenario.min_mic_preserved,
                                         value is not None and value >= scenario.min_mic_preserved)
    if scenario.drains_at is not None:
        value = on["recovery_seconds"]
        floor = _shortest_recovery(on["physics"])
        why = None if floor is None or floor <= t13["recovery_seconds_max"] else (
            f"the backlog (and the slow chunk still running after the episode) needs {floor:g} s to "
            f"drain: {on['physics']['arithmetic']}")
        out["on_recovery"] = _check(value, t13["recovery_seconds_max"],
                                    value is not None and value <= t13["recovery_seconds_max"], why)
    p90 = on["timestamp_error_seconds"]["p90"]
    out["on_timestamp_p90"] = _check(p90, t13["timestamp_error_p90_max_seconds"],
                                     None if p90 is None else p90 <= t13["timestamp_error_p90_max_seconds"])
    if scenario.issue12:  # issue 12's scenarios: recovered, until Stop, killed, stalled 20 / 60 s
        lost = {s: round(sum(v.values()), 2) for s, v in on["speech_lost_seconds"].items()}
        beyond = _beyond_hold(on["physics"])
        out["on_speech_lost_per_source"] = _check(
            lost, t12["on_speech_lost_per_source_max_seconds"],
            all(v <= t12["on_speech_lost_per_source_max_seconds"] for v in lost.values()),
            None if beyond <= 0 else f"{beyond:g} s of audio per source cannot fit the hold: "
            f"{on['physics']['arithmetic']}")
    catch = on["catch_up_start_seconds"]
    if catch is not None or scenario.drains_at is not None:
        limit = t12["on_catch_up_start_max_seconds"]
        out["on_catch_up_start"] = _check(catch, limit, None if catch is None else catch <= limit)
    out["off_segments_outside_session"] = _check(off["segments_outside_session"], 0,
                                                 off["segments_outside_session"] == 0)
    ts = off["timestamp_error_seconds"]
    p90_max, max_max = t12["off_timestamp_error_p90_max_seconds"], t12["off_timestamp_error_max_seconds"]
    ok = None if ts["p90"] is None else ts["p90"] <= p90_max and ts["max"] <= max_max
    out["off_timestamp"] = _check({"p90": ts["p90"], "max": ts["max"]}, {"p90": p90_max, "max": max_max}, ok)
    drops = off["server_dropped_seconds"]
    close = all(_within(drops["reported"][s], drops["true"][s], t12["off_reported_server_drops_within"])
                for s in drops["true"])
    out["off_reported_server_drops"] = _check(drops, "within 20 % of true (or 0.1 s)", close)
    alarms = len(off["alarms_in_healthy_stretch"]) + len(on["alarms_in_healthy_stretch"])
    out["no_alarm_in_healthy_stretch"] = _check(alarms, 0, alarms == 0)
    return out


def _within(reported: float, true: float, share: float) -> bool:
    return abs(reported - true) <= max(share * true, 0.1)


def _shortest_recovery(physics: dict[str, Any]) -> float | None:
    value = physics.get("shortest_recovery_this_run_seconds", physics["shortest_recovery_seconds"])
    if isinstance(value, dict):
        known = [v for v in value.values() if v is not None]
        return max(known) if known else None
    return None if value is None else float(value)


def _beyond_hold(physics: dict[str, Any]) -> float:
    value = physics["beyond_hold_seconds"]
    return max(value.values(), default=0.0) if isinstance(value, dict) else float(value)


# --------------------------------------------------------------------------- the table on stderr


def summary_table(result: dict[str, Any]) -> str:
    """One line per scenario and mode: speech preserved, speech lost by cause, lag, recovery, catch-up,
    timestamp errors, held audio against its bound, and (on the "on" line) the checks that failed."""
    head = ["scenario", "mode", "preserved all/sys/mic", "speech lost s drop/shed/transit/skip",
            "lag max/p90", "recov", "catch", "ts p50/p90/max", "held MiB/bound", "amber>red", "failed checks"]
    rows = [head]
    for name, s in result["scenarios"].items():
        failed = [k + ("*" if c["impossible"] else "") for k, c in s["checks"].items() if c["pass"] is False]
        for mode in MODES:
            r = s["runs"][mode]
            by = r["speech_preserved_by_source"]
            lost = [sum(v[k] for v in r["speech_lost_seconds"].values())
                    for k in ("server_drop", "client_shed", "in_transit", "skipped_as_silence")]
            ts = r["timestamp_error_seconds"]
            held = r["held_audio_peak"].values()
            rows.append([
                name, mode,
                "/".join(_f(v, 3) for v in (r["speech_preserved"], by.get("system"), by.get("mic"))),
                "/".join(f"{v:.1f}" for v in lost),
                f"{_f(r['lag_max_seconds'], 1)}/{_f(r['lag_p90_seconds'], 1)}",
                _f(r["recovery_seconds"], 1), _f(r["catch_up_start_seconds"], 1),
                "/".join(_f(ts[k], 2) for k in ("median", "p90", "max")),
                f"{sum(h['mib'] for h in held):.1f}/{sum(h['bound_mib'] for h in held):.1f}",
                _warning(r["amber_warning"]),
                (", ".join(failed) or "-") if mode == "on" else "",
            ])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(f"wall {result['config']['wall_seconds']:.0f} s; * = physically impossible (the JSON's "
                 f"checks say why); every feasible check passes: {result['all_feasible_checks_pass']}")
    return "\n".join(lines)


def _warning(w: dict[str, float | None]) -> str:
    """The amber warning before red: seconds, or "never red"."""
    return "never red" if w["first_red"] is None else f"{w['seconds']:.1f}"


def _f(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
