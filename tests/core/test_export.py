"""Export to Markdown, JSON and SRT: one timeline with loss markers, every section once, the date;
the JSON validates against docs/export-schema.json and the SRT parses with a real SRT parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
import srt

from app.core.export import (
    ExportDocument,
    date_line,
    demote_headings,
    suggested_filename,
    summary_prose,
    to_markdown,
)
from app.core.export_data import srt_time, to_json, to_srt
from app.core.losses import LossCause, LossSpan
from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity
from app.core.session_state import TranscriptSegment

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "export-schema.json").read_text())
CET = timezone(timedelta(hours=1))
SEGMENTS = (
    TranscriptSegment("mic", "Good morning everyone.", 0.5, 2.25, True, speaker="Ana"),
    TranscriptSegment("system", "Morning! Can you hear me?", 2.5, 4.0, True),
    TranscriptSegment("mic", "let us", 4.2, 4.8, False),  # a partial: never exported
    TranscriptSegment("system", "   ", 5.0, 5.5, True),  # empty final: never exported
    TranscriptSegment("system", "We lost you\nfor --> a moment.", 39.5, 41.0, True, approximate=True,
                      error_seconds=0.6),
    TranscriptSegment("mic", "Budget review is due Friday.", 3661.0, 3661.0, True),  # t1 == t0
)
LOSSES = (LossSpan("system", 20.0, 33.0, LossCause.SERVER_DROP),
          LossSpan("mic", 50.0, 52.5, LossCause.IN_TRANSIT, approximate=True, error_seconds=0.5))
CARDS = CardsEvent(
    actions=(Card("Send the budget", owner="Ana", due="Friday", confidence=0.9, evidence=("due Friday",)),),
    decisions=(Card("Ship on Monday"),),
)
ENTITIES = EntitiesEvent(people=(Entity("Ana", "person", 3),), topics=(Entity("budget", "topic", 1),))
# What the backend's summary looks like: its own transcript (other times), actions and entities.
BACKEND_SUMMARY = (
    "# Session summary\n\nSession `3f2a`, 4 segments.\n\n**Summary:** budget talk.\n\n"
    "## Actions\n\n- Send the budget\n- Something else\n\n## Entities\n\nAna, Bob\n\n"
    "## Transcript\n\n- [00:51.0] (system) We lost you for a moment.\n\n## Open questions\n\n- Venue?\n"
)
DOC = ExportDocument(
    "3f2a9c1e-0000", SEGMENTS, CARDS, ENTITIES, BACKEND_SUMMARY,
    started_at=datetime(2026, 12, 3, 14, 5, 0, tzinfo=CET),
    ended_at=datetime(2026, 12, 3, 15, 6, 1, tzinfo=CET), duration_seconds=3661.0, title="Budget review",
    sources=("system", "mic"), backend="ws://127.0.0.1:8000", losses=LOSSES, meeting_id="abc123",
)


def test_markdown_has_each_section_once_with_the_date_and_loss_markers():
    md = to_markdown(DOC)
    assert md.startswith("# Budget review\n\n- **Date:** Thursday 3 December 2026, 14:05–15:06 (UTC+01:00)\n")
    assert "- **Duration:** 1:01:01\n" in md
    assert "- **Sources:** system audio (the other participants), microphone (this computer)\n" in md
    assert "- **Speakers:** Ana\n" in md
    assert "- **Not transcribed:** 16 s (backend overloaded 13 s, connection lost 2.5 s)\n" in md
    for heading in ("## Summary", "## Actions", "## Decisions", "## Entities", "## Transcript"):
        assert md.count(heading + "\n") == 1, heading
    assert "Something else" not in md and "Bob" not in md and "00:51" not in md  # the backend's copies
    assert "**Summary:** budget talk." in md and "#### Open questions\n\n- Venue?" in md
    assert "Session summary" not in md
    assert "## Risks" not in md  # empty sections are left out
    assert "- **People:** Ana (×3)\n- **Topics:** budget" in md
    timeline = md[md.index("## Transcript"):].splitlines()[2:]
    assert timeline == [
        "- [00:00] **Ana (Mic):** Good morning everyone.",
        "- [00:02] **System:** Morning! Can you hear me?",
        "- [00:20–00:33] _System audio not transcribed: backend overloaded._",
        "- [~00:39] **System:** We lost you for --> a moment.",
        "- [~00:50–~00:52] _Microphone not transcribed: connection lost._",
        "- [1:01:01] **Mic:** Budget review is due Friday.",
    ]
    assert md.count("Good morning everyone.") == 1
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_markdown_without_anything_says_so():
    md = to_markdown(ExportDocument(""))
    assert md.startswith("# Meeting notes\n")
    assert "_No transcript._" in md and "Session" not in md and "Date" not in md


def test_an_interrupted_meeting_says_so():
    md = to_markdown(ExportDocument("s", status="interrupted"))
    assert "- **Status:** interrupted: the app stopped before the meeting ended" in md


def test_json_validates_against_its_schema_and_has_one_timeline():
    data = json.loads(to_json(DOC))
    jsonschema.validate(data, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert data["version"] == 2
    meeting = data["meeting"]
    assert meeting["started_at"] == "2026-12-03T14:05:00+01:00" and meeting["duration_seconds"] == 3661.0
    assert meeting["sources"] == ["system", "mic"] and meeting["title"] == "Budget review"
    assert [(i["kind"], i["t0"]) for i in data["timeline"]] == [
        ("segment", 0.5), ("segment", 2.5), ("loss", 20.0), ("segment", 39.5), ("loss", 50.0),
        ("segment", 3661.0)]
    assert data["timeline"][2]["reason"] == "backend overloaded"
    assert data["timeline"][3]["approximate"] is True and data["timeline"][3]["error_seconds"] == 0.6
    assert data["losses"] == {"total_seconds": 15.5, "by_cause": {"server_drop": 13.0, "in_transit": 2.5}}
    assert "Transcript" not in data["summary_markdown"] and "Something else" not in data["summary_markdown"]
    assert data["actions"][0]["evidence"] == ["due Friday"] and data["risks"] == []
    assert data["entities"]["people"][0]["count"] == 3


def test_json_of_an_empty_document_validates_too():
    data = json.loads(to_json(ExportDocument("")))
    jsonschema.validate(data, SCHEMA)
    assert data["meeting"]["started_at"] is None and data["timeline"] == []
    assert data["summary_markdown"] is None


def test_srt_parses_with_a_real_parser_in_order_with_loss_cues():
    text = to_srt(DOC)
    cues = list(srt.parse(text, ignore_errors=False))
    assert [c.index for c in cues] == [1, 2, 3, 4, 5, 6]
    assert [c.content for c in cues] == [
        "Ana (Mic): Good morning everyone.",
        "System: Morning! Can you hear me?",
        "[System audio not transcribed: backend overloaded]",
        "System: We lost you for → a moment.",
        "[Microphone not transcribed: connection lost]",
        "Mic: Budget review is due Friday.",
    ]
    assert all(c.end - c.start >= timedelta(seconds=1) for c in cues)  # t1 == t0 still shows
    assert cues[0].start == timedelta(seconds=0.5) and cues[-1].start == timedelta(seconds=3661)
    assert srt.compose(cues) == text  # canonical: what players expect, byte for byte
    assert to_srt(ExportDocument("")) == ""


def test_srt_time_format():
    assert srt_time(0) == "00:00:00,000"
    assert srt_time(-3) == "00:00:00,000"
    assert srt_time(3723.4567) == "01:02:03,457"


def test_suggested_filename_is_dated_and_safe():
    assert suggested_filename(DOC, "md") == "echopanel-2026-12-03-1405-budget-review.md"
    assert suggested_filename(ExportDocument("../..", title="../../etc"), "srt") == "echopanel-etc.srt"
    assert suggested_filename(ExportDocument("3f2a9c1e-0000"), "json") == "echopanel-3f2a9c1e.json"


def test_date_line_across_midnight_and_without_an_offset():
    start = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert date_line(start, start + timedelta(hours=1)) == (
        "Thursday 31 December 2026, 23:30 – Friday 1 January 2027, 00:30 (UTC+00:00)")
    assert date_line(None, None) == ""


@pytest.mark.parametrize(("summary", "kept"), [
    ("# Weekly sync\n\nText.", "# Weekly sync\n\nText."),
    ("# Summary\n\n## Decisions\n\n- a\n### detail\n\n## Next\n\nb", "## Next\n\nb"),
    ("```\n## Transcript\n```\n", "```\n## Transcript\n```"),
])
def test_summary_prose_drops_only_what_the_export_renders_itself(summary: str, kept: str):
    assert summary_prose(summary) == kept


def test_backend_summary_headings_nest_under_ours():
    nested = demote_headings("# a\n```\n# not a heading\n```\n#hashtag")
    assert nested == "### a\n```\n# not a heading\n```\n#hashtag"
    assert demote_headings("###### deep", 2) == "###### deep"
