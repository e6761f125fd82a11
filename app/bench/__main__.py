"""Dispatch ``python -m app.bench NAME [ARGS...]`` to ``app.bench.NAME.main(ARGS)``."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "pipeline": "CPU per second of audio for two sources; framing + encoding throughput",
    "ui": "status/metrics arrival to lamp repaint latency; longest event-loop stall",
    "overload": "speech preserved through an overload episode, throttling off vs on",
    "vad": "voice detectors on speech with known truth: speech missed, non-speech kept, CPU",
    "app": "the real app process, two live sources: CPU, RSS, threads, files; window, tray, headless",
    "history": "meeting history: size of a 3-hour meeting, opening a history of 500 meetings",
    "transcript": "the live transcript pane: memory per line, time per final and per partial",
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        print("usage: python -m app.bench NAME [ARGS...]\n")
        for name, what in BENCHMARKS.items():
            print(f"  {name:<10} {what}")
        return 2
    module = importlib.import_module(f"app.bench.{argv[0]}")
    result: int = module.main(argv[1:])
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
