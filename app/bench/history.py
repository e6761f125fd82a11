"""``python -m app.bench history``: the meeting history's size and speed.

1. A 3-hour meeting, synthetic and accelerated: the events a two-source session sends over 3 hours
   (a final line per source every 3 s, the light changing every few minutes, a loss span now and
   then, a snapshot a second with cards every 40 s and entities every 12 s, a 20 kB summary) go
   through the real ``MeetingRecorder`` and writer thread as fast as it takes them. Reported: the
   database on disk after close (target < 20 MB), how long the writer took, its commits.
2. Opening the history with 500 meetings (each ``--segments`` lines, searchable): in a fresh
   process each time (a cold start), ``History.open`` (migration check, crash recovery) + the list
   query, and filling the History tab with the rows (offscreen Qt). Median of ``--runs`` (target
   total < 200 ms). Also: a phrase search over every meeting.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.core.level import Level, LevelReport
from app.core.losses import LossCause, LossSpan
from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity
from app.core.session_state import (
    LevelChanged,
    LossRecorded,
    SessionSnapshot,
    SummaryReady,
    TranscriptChanged,
    TranscriptSegment,
)
from app.history import History, MeetingInfo
from app.history import store as history_store

COMMAND = "python -m app.bench history"
SIZE_TARGET_MB = 20.0
OPEN_TARGET_MS = 200.0
WORDS = ("budget", "review", "launch", "customer", "design", "team", "quarter", "numbers", "roadmap",
         "hiring", "schedule", "vendor", "risk", "decision", "action", "owner", "friday", "monday",
         "release", "testing", "feedback", "meeting", "agenda", "follow", "up")
INFO = MeetingInfo(0.0, backend="ws://bench", sources=("system", "mic"))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=float, default=3.0, help="length of the synthetic meeting (default 3)")
    p.add_argument("--meetings", type=int, default=500, help="meetings in the history to open (default 500)")
    p.add_argument("--segments", type=int, default=600,
                   help="transcript lines per stored meeting (default 600: a 30-minute meeting)")
    p.add_argument("--runs", type=int, default=5, help="cold opens, each in a fresh process (default 5)")
    p.add_argument("--open-once", metavar="FOLDER", help=argparse.SUPPRESS)  # what each run does
    args = p.parse_args(argv)
    if args.open_once:
        print(json.dumps(open_once(Path(args.open_once))))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        long_meeting = three_hours(Path(tmp) / "long", args.hours)
        folder = Path(tmp) / "many"
        built = fill(folder, args.meetings, args.segments)
        opens = [_open_in_child(folder) for _ in range(max(1, args.runs))]
    total = statistics.median(o["total_ms"] for o in opens)
    result: dict[str, Any] = {
        "benchmark": "history",
        "command": " ".join([COMMAND, *argv]),
        "long_meeting": long_meeting,
        "history": {**built, "runs": opens,
                    "open_ms_median": round(statistics.median(o["open_ms"] for o in opens), 1),
                    "list_ms_median": round(statistics.median(o["list_ms"] for o in opens), 1),
                    "fill_tab_ms_median": round(statistics.median(o["fill_tab_ms"] for o in opens), 1),
                    "search_ms_median": round(statistics.median(o["search_ms"] for o in opens), 1),
                    "total_ms_median": round(total, 1), "target_ms": OPEN_TARGET_MS,
                    "ok": total < OPEN_TARGET_MS},
    }
    print(json.dumps(result, indent=2))
    return 0


def _sentence(rng: random.Random, words: int = 15) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def three_hours(folder: Path, hours: float) -> dict[str, Any]:
    """Play a ``hours``-long meeting through the recorder and writer as fast as they go."""
    rng = random.Random(15)
    history = History.open(folder)
    recorder = history.begin(replace(INFO, started_at=time.time() - hours * 3600))
    seconds = int(hours * 3600)
    started = time.perf_counter()
    cards: CardsEvent | None = None
    entities: EntitiesEvent | None = None
    segments = 0
    for t in range(seconds):
        if t % 3 == 0:
            for source in ("system", "mic"):
                segment = TranscriptSegment(source, _sentence(rng), t + rng.random(), t + 2.5, True)
                recorder.on_event(TranscriptChanged(float(t), segment))
                segments += 1
        if t % 240 == 0:
            level = rng.choice((Level.NORMAL, Level.BUFFERING, Level.OVERLOADED))
            recorder.on_event(LevelChanged(float(t), LevelReport(level, f"synthetic {level.value}")))
        if t % 900 == 450:
            span = LossSpan("system", t - 8.0, t - 2.0, LossCause.SERVER_DROP)
            recorder.on_event(LossRecorded(float(t), span))
        if t % 40 == 0:
            cards = CardsEvent(actions=tuple(Card(_sentence(rng, 8), owner="Ana")
                                             for _ in range(1 + t // 1200)))
        if t % 12 == 0:
            entities = EntitiesEvent(people=tuple(Entity(w.title(), "person", 2)
                                                  for w in WORDS[: 5 + t // 3600]))
        recorder.on_snapshot(SessionSnapshot(session_id="bench", elapsed_seconds=float(t), cards=cards,
                                             entities=entities))
    summary = "# Synthetic three hours\n\n" + "\n".join(f"- {_sentence(rng)}" for _ in range(150))
    recorder.on_event(SummaryReady(float(seconds), summary, segments))
    recorder.finish(SessionSnapshot(session_id="bench", elapsed_seconds=float(seconds), cards=cards,
                                    entities=entities, summary_markdown=summary), None)
    history.close()
    elapsed = time.perf_counter() - started
    size = sum(p.stat().st_size for p in folder.glob("history.sqlite3*"))
    return {"hours": hours, "segments": segments, "seconds_to_write": round(elapsed, 2),
            "database_mb": round(size / 1e6, 2), "target_mb": SIZE_TARGET_MB,
            "ok": size / 1e6 < SIZE_TARGET_MB,
            "commits": history.writer.commits, "dropped_writes": history.writer.dropped,
            "failed_writes": history.writer.failures}


def fill(folder: Path, meetings: int, segments: int) -> dict[str, Any]:
    """``meetings`` finished meetings of ``segments`` lines each, written in bulk (the list's columns
    kept as the recorder keeps them)."""
    rng = random.Random(500)
    history = History.open(folder)
    started = time.perf_counter()

    def write(conn: Any) -> None:
        for index in range(meetings):
            info = replace(INFO, started_at=time.time() - index * 7200)
            meeting_id = history_store.insert_meeting(conn, f"bench{index:05d}", info)
            lines = [TranscriptSegment(rng.choice(("system", "mic")), _sentence(rng), i * 3.0, i * 3.0 + 2.5,
                                       True) for i in range(segments)]
            history_store.insert_segments(conn, meeting_id, lines)
            history_store.update_meeting(conn, meeting_id, state="complete", outcome="summary",
                                         title=f"Meeting {index}", first_words=lines[0].text[:60],
                                         duration=segments * 3.0, ended_at=info.started_at + segments * 3.0)

    history.writer.call(write).result(timeout=600)
    history.close()
    size = sum(p.stat().st_size for p in folder.glob("history.sqlite3*"))
    return {"meetings": meetings, "segments_per_meeting": segments, "database_mb": round(size / 1e6, 1),
            "seconds_to_build": round(time.perf_counter() - started, 1)}


def open_once(folder: Path) -> dict[str, float]:
    """One cold start: open, list, fill the History tab; then search. In this (fresh) process."""
    from app.ui.bench_harness import history_tab_fill_seconds  # the Qt side lives in app/ui

    t0 = time.perf_counter()
    history = History.open(folder)
    t1 = time.perf_counter()
    rows = history.reader.list_meetings()
    t2 = time.perf_counter()
    t3 = t2 + history_tab_fill_seconds(rows)
    hits = history.reader.search("roadmap hiring")
    t4 = time.perf_counter()
    history.close()
    return {"rows": len(rows), "open_ms": round((t1 - t0) * 1000, 1),
            "list_ms": round((t2 - t1) * 1000, 1),
            "fill_tab_ms": round((t3 - t2) * 1000, 1), "total_ms": round((t3 - t0) * 1000, 1),
            "search_ms": round((t4 - t3) * 1000, 1), "search_hits": len(hits)}


def _open_in_child(folder: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "app.bench", "history", "--open-once", str(folder)],
                          capture_output=True, text=True, timeout=120, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
