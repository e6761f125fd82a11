"""``python -m app.bench transcript [--lines 3000]``: the live transcript pane's memory and time per line.

The real ``TranscriptPane`` offscreen (700 x 400), fed as a session feeds it: at every step the
finals so far plus a live partial, then the events (the repaint) processed; ``--lines`` finals. The
segments are made before the baseline (the session holds them anyway), so what is measured is what
the pane keeps per line: anonymous RSS after ``malloc_trim`` before and after (issue 17: the text
document it replaced kept ~6 kB per line here, ~2.8 kB in the live app; target: the whole window
grows <= 5 MB per hour, ~1.25 kB per line at ~4000 lines an hour). Time: a final (one row replaced,
one appended, the view repainted) over the last 200 finals, and a partial replaced in place at the
end of the meeting; a longest step over 50 ms would stall the event loop. One JSON object.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import statistics
from typing import Any

from app.core.session_state import TranscriptSegment

COMMAND = "python -m app.bench transcript"
BYTES_PER_LINE_TARGET = 1000
STALL_MS = 50.0
WORDS = ("we", "should", "ship", "the", "release", "on", "friday", "after", "the", "review", "and", "check",
         "the", "numbers", "with", "finance", "again", "before", "the", "customer", "call")


def _sentence(i: int) -> str:
    return " ".join(WORDS[(i + k * 3) % len(WORDS)] for k in range(8 + (i * 7) % 14))


def _anon_rss_bytes() -> int:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=3000, help="final lines to add (default 3000: ~45 min)")
    args = p.parse_args(argv)
    from app.ui.transcript_bench import feed_pane  # the Qt side lives in app/ui

    n = max(300, args.lines)
    finals = [TranscriptSegment("mic" if i % 2 else "system", _sentence(i), i * 3.0, i * 3.0 + 2.5, True)
              for i in range(n)]
    partials = [TranscriptSegment("mic", _sentence(i + 1)[:40], i * 3.0, i * 3.0 + 1.0, False)
                for i in range(n + 1)]
    grown = [TranscriptSegment("mic", f"{_sentence(i)} {i}", n * 3.0, n * 3.0 + 1.0, False)
             for i in range(50)]
    run = feed_pane(finals, partials, grown, _anon_rss_bytes)
    before, after, final_ms, partial_ms = run.before, run.after, run.final_ms, run.partial_ms
    per_line = (after - before) / n
    tail = sorted(final_ms[-200:])
    longest = max(max(final_ms), max(partial_ms))
    result: dict[str, Any] = {
        "benchmark": "transcript",
        "command": " ".join([COMMAND, *argv]),
        "lines": n,
        "anon_rss_mb_before": round(before / 2**20, 2),
        "anon_rss_mb_after": round(after / 2**20, 2),
        "bytes_per_line": round(per_line),
        "final_ms_median": round(statistics.median(tail), 2),
        "final_ms_p99": round(tail[min(len(tail) - 1, int(len(tail) * 0.99))], 2),
        "partial_ms_median": round(statistics.median(partial_ms), 2),
        "longest_step_ms": round(longest, 1),
        "longest_final_at_line": final_ms.index(max(final_ms)) + 1,
        "targets": {"bytes_per_line": BYTES_PER_LINE_TARGET, "longest_step_ms": STALL_MS},
        "ok": per_line <= BYTES_PER_LINE_TARGET and longest <= STALL_MS,
    }
    print(json.dumps(result, indent=2))
    return 0
