"""Entities, cards and the final summary from simple keyword rules over the transcript. Pure.

This is a stand-in for EchoPanel's analysis, good enough to exercise the client: the shapes follow
CONTRACT.md section 4.3 exactly, the content is deliberately simple. ``segments`` are the
``asr_final`` payloads sent on this connection (dicts with at least ``text``, ``t0``, ``t1``, ``source``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

Segment = Mapping[str, Any]

_STOPWORD_TEXT = (
    "a an the and or but if then so of to in on at by for with from about as is are was were be been "
    "it its this that these those i you he she we they me him her us them my your our their not no "
    "will would can could should shall may might must do does did have has had just also very really "
    "there here what when where which who how all any some more most other into over than too out up "
    "simulated speech okay yes yeah well going get got"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split(" "))
DATE_WORDS = (
    r"today|tomorrow|yesterday|tonight|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"next week|next month|this week|end of (?:the )?(?:day|week|month|quarter)|"
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d{1,2}) o'clock|"
    r"\d{1,2}(?::\d\d)? ?(?:am|pm)|q[1-4]"
)
DATE_RE = re.compile(rf"\b(?:{DATE_WORDS})\b", re.IGNORECASE)
NAME_RE = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s[A-Z][a-z]+)*|[A-Z]{2,})\b")
ORG_SUFFIX = re.compile(r"\b(?:Inc|Corp|Ltd|LLC|Labs|Group|Company|GmbH)\b|^[A-Z]{2,}$")
PROJECT_RE = re.compile(r"\bproject\s+([A-Za-z][\w-]*)|\b([A-Za-z][\w-]*)\s+project\b", re.IGNORECASE)
ACTION_RE = re.compile(r"\b(?:will|todo|to do|action|need to|needs to|has to|should|follow up)\b", re.I)
DECISION_RE = re.compile(r"\b(?:decided|decide|agreed|agree|let's|we'll go with|approved|settled on)\b", re.I)
RISK_RE = re.compile(r"\b(?:risk|concern|blocker|blocked|problem|issue|delay|might fail|worried)\b", re.I)
OWNER_RE = re.compile(r"^\s*([A-Z][a-z]+)\s+(?:will|should|needs to|has to)\b")
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
GROUNDING_MAX = 3
TOPICS_MAX = 5


def _sentences(segments: Sequence[Segment]) -> list[tuple[str, Segment]]:
    return [
        (sentence.strip(), seg)
        for seg in segments
        for sentence in SENTENCE_SPLIT.split(str(seg.get("text", "")))
        if sentence.strip()
    ]


def _entity(name: str, kind: str, hits: list[tuple[str, Segment]], confidence: float) -> dict[str, Any]:
    return {
        "name": name,
        "type": kind,
        "count": len(hits),
        "last_seen": float(hits[-1][1].get("t1", 0.0)),
        "confidence": confidence,
        "grounding": [text for text, _ in hits[-GROUNDING_MAX:]],
    }


def entities(segments: Sequence[Segment]) -> dict[str, list[dict[str, Any]]]:
    """``people``, ``orgs``, ``dates``, ``projects``, ``topics`` lists of entity objects."""
    found: dict[str, dict[str, list[tuple[str, Segment]]]] = {
        k: {} for k in ("people", "orgs", "dates", "projects")
    }
    words: Counter[str] = Counter()
    for sentence, seg in _sentences(segments):
        projects = {(m.group(1) or m.group(2)).lower() for m in PROJECT_RE.finditer(sentence)}
        for match in NAME_RE.finditer(sentence):
            name = match.group(1)
            if name.lower() in STOPWORDS or name.lower() in projects or DATE_RE.fullmatch(name):
                continue
            group = "orgs" if ORG_SUFFIX.search(name) else "people"
            found[group].setdefault(name, []).append((sentence, seg))
        for match in DATE_RE.finditer(sentence):
            found["dates"].setdefault(match.group(0).lower(), []).append((sentence, seg))
        for project in projects - STOPWORDS:
            found["projects"].setdefault(project, []).append((sentence, seg))
        words.update(w for w in re.findall(r"[a-z']{4,}", sentence.lower()) if w not in STOPWORDS)
    kinds = {"people": "person", "orgs": "org", "dates": "date", "projects": "project"}
    out = {
        group: [_entity(name, kinds[group], hits, 0.6) for name, hits in items.items()]
        for group, items in found.items()
    }
    out["topics"] = [
        _entity(word, "topic", [(s, g) for s, g in _sentences(segments) if word in s.lower()], 0.5)
        for word, count in words.most_common(TOPICS_MAX)
        if count >= 2
    ]
    return out


def _card(sentence: str, confidence: float) -> dict[str, Any]:
    owner = OWNER_RE.match(sentence)
    due = DATE_RE.search(sentence)
    return {
        "text": sentence,
        "owner": owner.group(1) if owner else None,
        "due": due.group(0).lower() if due else None,
        "confidence": confidence,
        "evidence": [sentence],
    }


def cards(segments: Sequence[Segment]) -> dict[str, Any]:
    """``actions``, ``decisions``, ``risks`` card lists and the ``window`` they were taken from."""
    actions, decisions, risks = [], [], []
    for sentence, _ in _sentences(segments):
        if DECISION_RE.search(sentence):
            decisions.append(_card(sentence, 0.6))
        elif ACTION_RE.search(sentence):
            actions.append(_card(sentence, 0.6))
        if RISK_RE.search(sentence):
            risks.append(_card(sentence, 0.5))
    window = {
        "t0": float(segments[0].get("t0", 0.0)) if segments else 0.0,
        "t1": float(segments[-1].get("t1", 0.0)) if segments else 0.0,
        "segments": len(segments),
    }
    return {"actions": actions, "decisions": decisions, "risks": risks, "window": window}


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{seconds % 60:04.1f}"


def summary(session_id: str, segments: Sequence[Segment]) -> tuple[str, dict[str, Any]]:
    """The ``final_summary`` body: ``(markdown, json)``."""
    found = cards(segments)
    ents = entities(segments)
    data: dict[str, Any] = {
        "session_id": session_id,
        "transcript": [dict(seg) for seg in segments],
        "actions": found["actions"],
        "decisions": found["decisions"],
        "risks": found["risks"],
        "entities": ents,
        "diarization": [],
    }
    lines = ["# Session summary", "", f"Session `{session_id}`, {len(segments)} segments.", ""]
    for title, key in (("Actions", "actions"), ("Decisions", "decisions"), ("Risks", "risks")):
        lines += [f"## {title}", ""]
        lines += [f"- {card['text']}" for card in found[key]] or ["- none"]
        lines.append("")
    names = [e["name"] for group in ("people", "orgs", "projects") for e in ents[group]]
    lines += ["## Entities", "", ", ".join(names) or "none", "", "## Transcript", ""]
    lines += [f"- [{_clock(float(s.get('t0', 0.0)))}] ({s.get('source', '?')}) {s.get('text', '')}"
              for s in segments] or ["- (no speech recognised)"]
    return "\n".join(lines) + "\n", data
