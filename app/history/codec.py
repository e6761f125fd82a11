"""Core values <-> the JSON text the history stores (cards, entities, end counters, audio files).

Lenient on the way back: a field that is missing or of the wrong type reads as its default, so a row
written by an older or newer version never stops a meeting from opening.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity
from app.core.session_state import SessionEnded
from app.history.records import AudioFile

CARD_KINDS = ("actions", "decisions", "risks")
ENTITY_KINDS = ("people", "orgs", "dates", "projects", "topics")


def cards_to_json(cards: CardsEvent) -> str:
    return json.dumps({kind: [_card(c) for c in getattr(cards, kind)] for kind in CARD_KINDS},
                      ensure_ascii=False)


def entities_to_json(entities: EntitiesEvent) -> str:
    return json.dumps({kind: [_entity(e) for e in getattr(entities, kind)] for kind in ENTITY_KINDS},
                      ensure_ascii=False)


def cards_from_json(text: str | None) -> CardsEvent | None:
    data = _load(text)
    if data is None:
        return None
    actions, decisions, risks = (tuple(_read_card(c) for c in _list(data, kind)) for kind in CARD_KINDS)
    return CardsEvent(actions, decisions, risks)


def entities_from_json(text: str | None) -> EntitiesEvent | None:
    data = _load(text)
    if data is None:
        return None
    people, orgs, dates, projects, topics = (tuple(_read_entity(e) for e in _list(data, kind))
                                             for kind in ENTITY_KINDS)
    return EntitiesEvent(people, orgs, dates, projects, topics)


def end_to_json(ended: SessionEnded) -> str:
    """The session_end counters: per source frames and losses, server drops, reconnects."""
    sources = {
        src.value: {"captured_frames": c.captured_frames, "sent_frames": c.sent_frames,
                    "dropped_frames": c.dropped_frames, "shed_frames": c.shed_frames,
                    "skipped_frames": c.skipped_frames, "buffered_frames": c.buffered_frames}
        for src, c in ended.sources.items()
    }
    losses = {src: {"server_dropped_seconds": lost.server_dropped_seconds,
                    "client_shed_seconds": lost.client_shed_seconds,
                    "lost_in_transit_seconds": lost.lost_in_transit_seconds,
                    "capture_lost_seconds": lost.capture_lost_seconds,
                    "stop_tail_seconds": lost.stop_tail_seconds}
              for src, lost in ended.losses.items()}
    return json.dumps({"outcome": ended.outcome.value, "message": ended.message, "sources": sources,
                       "losses": losses, "server_dropped_frames": ended.server_dropped_frames,
                       "reconnects": ended.reconnects})


def end_from_json(text: str | None) -> dict[str, Any]:
    return _load(text) or {}


def audio_to_json(files: tuple[AudioFile, ...]) -> str:
    if not files:
        return ""
    return json.dumps([{"source": f.source, "path": f.path, "offset": f.offset} for f in files])


def audio_from_json(text: str | None) -> tuple[AudioFile, ...]:
    try:
        data = json.loads(text) if text else []
    except ValueError:
        return ()
    out = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            out.append(AudioFile(str(item.get("source", "")), item["path"], _num(item.get("offset")) or 0.0))
    return tuple(out)


# --------------------------------------------------------------------------- helpers


def _card(card: Card) -> dict[str, Any]:
    return {"text": card.text, "owner": card.owner, "due": card.due, "confidence": card.confidence,
            "evidence": list(card.evidence)}


def _entity(entity: Entity) -> dict[str, Any]:
    return {"name": entity.name, "type": entity.type, "count": entity.count, "last_seen": entity.last_seen,
            "confidence": entity.confidence, "grounding": list(entity.grounding)}


def _read_card(raw: Mapping[str, Any]) -> Card:
    return Card(str(raw.get("text", "")), _text(raw.get("owner")), _text(raw.get("due")),
                _num(raw.get("confidence")), tuple(str(e) for e in raw.get("evidence") or () if e))


def _read_entity(raw: Mapping[str, Any]) -> Entity:
    count = raw.get("count")
    return Entity(str(raw.get("name", "")), str(raw.get("type") or ""),
                  count if isinstance(count, int) and not isinstance(count, bool) else 0,
                  _num(raw.get("last_seen")), _num(raw.get("confidence")),
                  tuple(str(g) for g in raw.get("grounding") or () if g))


def _load(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _list(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = data.get(key)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
