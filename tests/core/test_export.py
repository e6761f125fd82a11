"""Export to Markdown, JSON and SRT: pure functions, exact content."""

from __future__ import annotations

import json

from app.core.export import (
    ExportDocument,
    demote_headings,
    srt_time,
    suggested_filename,
    to_json,
    to_markdown,
    to_srt,
)
from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity
from app.core.session_state import TranscriptSegment

SEGMENTS = (
    TranscriptSegment("mic", "Good morning everyone.", 0.5, 2.25, True, speaker="Ana"),
    TranscriptSegment("system", "Morning! Can you hear me?", 2.5, 4.0, True),
    TranscriptSegment("mic", "let us", 4.2, 4.8, False),  # a partial: never exported
    TranscriptSegment("system", "   ", 5.0, 5.5, True),  # empty final: never exported
    TranscriptSegment("mic", "Budget review is due Friday.", 3661.0, 3661.0, True),  # t1 == t0
)
CARDS = CardsEvent(
    actions=(Card("Send the budget", owner="Ana", due="Friday", confidence=0.9, evidence=("due Friday",)),),
    decisions=(Card("Ship on Monday"),),
)
ENTITIES = EntitiesEvent(people=(Entity("Ana", "person", 3),), topics=(Entity("budget", "topic", 1),))
DOC = ExportDocument(
    "3f2a9c1e-0000", SEGMENTS, CARDS, ENTITIES, "**Summary:** budget talk.", "2025-01-02 10:00"
)


def test_srt_cues_are_numbered_timed_and_tagged():
    assert to_srt(SEGMENTS) == (
        "1\n00:00:00,500 --> 00:00:02,250\nAna (Mic): Good morning everyone.\n"
        "\n"
        "2\n00:00:02,500 --> 00:00:04,000\nSystem: Morning! Can you hear me?\n"
        "\n"
        "3\n01:01:01,000 --> 01:01:02,000\nMic: Budget review is due Friday.\n"
    )


def test_srt_orders_by_start_time_and_handles_nothing():
    late = TranscriptSegment("mic", "second", 9.0, 10.0, True)
    early = TranscriptSegment("system", "first", 1.0, 2.0, True)
    assert to_srt([late, early]).startswith("1\n00:00:01,000 --> 00:00:02,000\nSystem: first")
    assert to_srt([]) == ""


def test_srt_time_format():
    assert srt_time(0) == "00:00:00,000"
    assert srt_time(-3) == "00:00:00,000"
    assert srt_time(3723.4567) == "01:02:03,457"


def test_markdown_has_summary_cards_entities_and_transcript():
    md = to_markdown(DOC)
    assert md.startswith("# Meeting notes\n\nSession `3f2a9c1e-0000`, started 2025-01-02 10:00\n")
    assert "## Summary from the backend\n\n**Summary:** budget talk.\n" in md
    assert "## Actions\n\n- Send the budget (owner: Ana, due: Friday)\n" in md
    assert "## Decisions\n\n- Ship on Monday\n" in md
    assert "## Risks" not in md  # empty sections are left out
    assert "- **People:** Ana (×3)\n- **Topics:** budget" in md
    assert "- **[00:00] Ana (Mic):** Good morning everyone.\n" in md
    assert "- **[1:01:01] Mic:** Budget review is due Friday.\n" in md
    assert "let us" not in md
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_markdown_without_transcript_says_so():
    md = to_markdown(ExportDocument(""))
    assert "_No transcript._" in md
    assert "Session" not in md


def test_json_is_versioned_and_complete():
    data = json.loads(to_json(DOC))
    assert data["format"] == "echopanel-companion-export"
    assert data["version"] == 1
    assert data["session_id"] == "3f2a9c1e-0000"
    assert data["summary_markdown"] == "**Summary:** budget talk."
    assert [s["text"] for s in data["transcript"]] == [
        "Good morning everyone.",
        "Morning! Can you hear me?",
        "Budget review is due Friday.",
    ]
    assert data["transcript"][0] == {
        "source": "mic",
        "text": "Good morning everyone.",
        "t0": 0.5,
        "t1": 2.25,
        "speaker": "Ana",
        "confidence": None,
        "connection_index": 0,
        "segment_id": None,
    }
    assert data["actions"][0]["owner"] == "Ana" and data["actions"][0]["evidence"] == ["due Friday"]
    assert data["decisions"][0]["text"] == "Ship on Monday"
    assert data["risks"] == []
    assert data["entities"]["people"][0]["count"] == 3
    assert data["entities"]["orgs"] == []


def test_json_without_cards_or_entities():
    data = json.loads(to_json(ExportDocument("s")))
    assert data["actions"] == [] and data["entities"]["topics"] == [] and data["started_at"] is None


def test_suggested_filename_is_safe():
    assert suggested_filename("3f2a9c1e-0000", "srt") == "echopanel-3f2a9c1e.srt"
    assert suggested_filename("../..", "md") == "echopanel-session.md"


def test_backend_summary_headings_nest_under_ours():
    doc = ExportDocument(
        "s", summary_markdown="# Session summary\n\n## Actions\n\n- x\n```\n# not a heading\n```\n#hashtag"
    )
    md = to_markdown(doc)
    assert "### Session summary\n\n#### Actions\n\n- x\n```\n# not a heading\n```\n#hashtag\n" in md
    assert demote_headings("###### deep", 2) == "###### deep"
