"""The headless events file: metrics coalesced per source, and lines that a failing disk could not
take counted, never torn, and said."""

from __future__ import annotations

import errno
import itertools
import json
from pathlib import Path

from app.core.messages import MetricsEvent, StatusEvent
from app.core.session_state import (
    ServerMetrics,
    ServerStatus,
    SessionEnded,
    SessionEvent,
    StopOutcome,
    TranscriptChanged,
    TranscriptSegment,
)
from app.headless.events import EventStream
from app.headless.events_file import EventsFile


def metrics(t: float, source: str, dropped_recent: int = 0, fill: float = 0.1) -> ServerMetrics:
    return ServerMetrics(t, MetricsEvent(source=source, queue_fill_ratio=fill, dropped_recent=dropped_recent))


def end(t: float) -> SessionEnded:
    return SessionEnded(t, StopOutcome.SUMMARY, {}, 0, 0, "")


def lines_of(stream: EventStream, events: list[SessionEvent]) -> list[dict[str, object]]:
    return [line for event in events for line in stream.feed(event)]


def test_a_metrics_flood_becomes_at_most_two_lines_per_second_per_source_and_keeps_the_drops() -> None:
    flood: list[SessionEvent] = []
    for i in range(1000):  # 10 s of 100 messages a second, alternating sources, 1 drop each
        flood.append(metrics(i * 0.01, "mic" if i % 2 else "system", dropped_recent=1, fill=i / 1000))
    flood.append(end(10.0))
    lines = lines_of(EventStream(), flood)
    for source in ("mic", "system"):
        mine = [line for line in lines if line.get("source") == source]
        assert len(mine) <= 2 * 10 + 1  # two a second, and the last held one before session_end
        times = [float(str(line["t"])) for line in mine[:-1]]
        assert all(b - a >= 0.5 - 1e-9 for a, b in itertools.pairwise(times))
        assert sum(int(str(line["dropped_recent"])) for line in mine) == 500  # no drop lost by merging
        assert sum(int(str(line["coalesced"])) for line in mine) == 500
        assert mine[-1]["queue_fill_ratio"] in (0.999, 0.998)  # the latest values
    assert lines[-1]["event"] == "session_end"


def test_other_events_are_never_held_and_a_quiet_server_is_not_coalesced() -> None:
    events: list[SessionEvent] = [metrics(t, "mic") for t in (0.0, 1.0, 2.0)]
    events.insert(1, ServerStatus(0.1, StatusEvent(state="buffering")))
    lines = lines_of(EventStream(), events)
    assert [line["event"] for line in lines] == ["metrics", "status", "metrics", "metrics"]
    assert all(line.get("coalesced", 1) == 1 for line in lines)


def transcript(t: float, text: str) -> TranscriptChanged:
    return TranscriptChanged(t, TranscriptSegment("mic", text, t, t + 0.5, True))


class FullThenFree:
    """Stands in for a disk that fills up and then has room again, which a test machine cannot make
    portably: the first line is written; of the second, 10 bytes, then ENOSPC; the third fails whole;
    from then on everything is written (by the real os.write)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, fd: int, data: bytes) -> int:
        import os

        self.calls += 1
        if self.calls == 2:
            return os.write(fd, data[:10])
        if self.calls in (3, 4):
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, data)


def test_lines_a_full_disk_refused_are_counted_never_torn_and_said_before_session_end(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    out = EventsFile(str(path), write=FullThenFree())
    for event in (transcript(0.1, "one"), transcript(0.2, "two"), transcript(0.3, "three"),
                  transcript(0.4, "four"), end(1.0)):
        out.write(event)
    out.close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]  # all whole
    assert [line.get("text") for line in lines if line["event"] == "transcript"] == ["one", "four"]
    warning, session_end = lines[-2:]
    assert warning["event"] == "warning" and "2 earlier events could not be written" in warning["message"]
    assert "No space left on device" in warning["message"] and "incomplete" in warning["message"]
    assert session_end["event"] == "session_end" and out.end_written
    assert "incomplete: 2 of 5 events could not be written" in out.problem()
    assert "session_end and a warning saying so were written" in out.problem()


def test_an_events_file_on_a_full_device_says_even_session_end_is_missing() -> None:
    out = EventsFile("/dev/full")  # Linux: every write fails with ENOSPC
    out.write(transcript(0.1, "one"))
    out.write(end(1.0))
    out.close()
    assert not out.end_written
    assert "/dev/full is incomplete" in out.problem()
    assert "even session_end could not be written" in out.problem()
