"""Keyword-rule entities, cards and summary: right shapes, plausible content."""

from __future__ import annotations

from app.backend import analysis
from app.core.protocol import decode_server


def seg(text: str, t0: float, source: str = "mic") -> dict[str, object]:
    return {"text": text, "t0": t0, "t1": t0 + 2.0, "source": source, "segment_id": f"s{t0}"}


TRANSCRIPT = [
    seg("Good morning everyone, this is the budget review with Alice Smith.", 0.0),
    seg("Alice will send the budget to Acme Corp by Friday.", 3.0),
    seg("We decided to ship the Phoenix project next week.", 6.0, "system"),
    seg("The main risk is a delay from the vendor on the budget.", 9.0),
]


def test_entities_find_people_orgs_dates_projects_topics() -> None:
    ents = analysis.entities(TRANSCRIPT)
    names = {group: [e["name"] for e in items] for group, items in ents.items()}
    assert names["people"] == ["Alice Smith"]  # sentence-initial words are not taken for names
    assert names["orgs"] == ["Acme Corp"]
    assert set(names["dates"]) == {"friday", "next week"}
    assert names["projects"] == ["phoenix"]
    assert "budget" in names["topics"]
    budget = next(e for e in ents["topics"] if e["name"] == "budget")
    assert budget["count"] == 3 and budget["last_seen"] == 11.0 and len(budget["grounding"]) == 3


def test_cards_find_actions_decisions_risks() -> None:
    found = analysis.cards(TRANSCRIPT)
    [action] = found["actions"]
    assert action["owner"] == "Alice" and action["due"] == "friday"
    assert action["evidence"] == ["Alice will send the budget to Acme Corp by Friday."]
    assert [c["text"] for c in found["decisions"]] == ["We decided to ship the Phoenix project next week."]
    assert len(found["risks"]) == 1
    assert found["window"] == {"t0": 0.0, "t1": 11.0, "segments": 4}


def test_summary_decodes_with_the_client_protocol() -> None:
    markdown, data = analysis.summary("sid", TRANSCRIPT)
    keys = {"session_id", "transcript", "actions", "decisions", "risks", "entities", "diarization"}
    assert set(data) >= keys
    assert data["diarization"] == [] and data["transcript"][1]["text"].startswith("Alice will")
    assert "## Actions" in markdown and "Alice will send" in markdown
    import json

    event = decode_server(json.dumps({"type": "final_summary", "markdown": markdown, "json": data}))
    assert len(event.transcript) == 4 and len(event.actions) == 1  # type: ignore[union-attr]


def test_empty_transcript_is_well_formed() -> None:
    assert analysis.cards([])["window"] == {"t0": 0.0, "t1": 0.0, "segments": 0}
    assert all(v == [] for v in analysis.entities([]).values())
    markdown, data = analysis.summary("sid", [])
    assert data["transcript"] == [] and "no speech recognised" in markdown
