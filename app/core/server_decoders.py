"""Field-by-field decoders of the EchoPanel server messages (CONTRACT.md section 4): one function per
message ``type``, from a parsed JSON object to a typed ``ServerEvent``. Lenient by design: a missing or
mistyped optional field becomes ``None`` (``app.core.fields``); ``app.core.protocol.decode_server``
dispatches here and guarantees that nothing raises. Pure, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from app.core import fields as f
from app.core.messages import (
    Card,
    CardsEvent,
    Correlation,
    EntitiesEvent,
    Entity,
    ErrorEvent,
    FinalSummaryEvent,
    MetricsEvent,
    ServerEvent,
    StatusEvent,
    TranscriptEvent,
    UnrecognizedEvent,
)

EXCERPT_CHARS = 120
T = TypeVar("T")


def excerpt(payload: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable excerpt of a payload for logs and ``UnrecognizedEvent``."""
    text = payload if isinstance(payload, str) else bytes(payload[: limit // 2]).hex(" ")
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status(obj: Mapping[str, Any], ids: Correlation) -> ServerEvent:
    state = obj.get("state")
    if not isinstance(state, str) or not state:
        return UnrecognizedEvent("status without a state", excerpt(json.dumps(obj)), "status", ids)
    return StatusEvent(
        state=state,
        message=f.text(obj, "message"),
        source=f.opt_text(obj, "source"),
        backlog_seconds=f.opt_float(obj, "backlog_seconds"),
        dropped_frames=f.opt_int(obj, "dropped_frames"),
        dropped_seconds=f.opt_float(obj, "dropped_seconds"),
        degrade_level=f.opt_text(obj, "degrade_level"),
        action=f.opt_text(obj, "action"),
        client_features=f.opt_mapping(obj, "client_features"),
        ids=ids,
    )


def _metrics(obj: Mapping[str, Any], ids: Correlation) -> ServerEvent:
    return MetricsEvent(
        source=f.opt_text(obj, "source"),
        queue_bytes=f.opt_int(obj, "queue_bytes"),
        queue_bytes_max=f.opt_int(obj, "queue_bytes_max"),
        queue_fill_ratio=f.opt_float(obj, "queue_fill_ratio"),
        backlog_seconds=f.opt_float(obj, "backlog_seconds"),
        max_backlog_seconds=f.opt_float(obj, "max_backlog_seconds"),
        queue_depth=f.opt_int(obj, "queue_depth"),
        queue_max_frames=f.opt_int(obj, "queue_max_frames"),
        dropped_total=f.opt_int(obj, "dropped_total"),
        dropped_recent=f.opt_int(obj, "dropped_recent"),
        avg_infer_ms=f.opt_float(obj, "avg_infer_ms"),
        realtime_factor=f.opt_float(obj, "realtime_factor"),
        provider=f.opt_text(obj, "provider"),
        model_id=f.opt_text(obj, "model_id"),
        vad_enabled=f.opt_flag(obj, "vad_enabled"),
        provider_health=f.opt_mapping(obj, "provider_health"),
        sources_active=f.opt_int(obj, "sources_active"),
        timestamp=f.opt_float(obj, "timestamp"),
        degrade_level=f.opt_text(obj, "degrade_level"),
        degrade_level_num=f.opt_int(obj, "degrade_level_num"),
        rtf_avg_10s=f.opt_float(obj, "rtf_avg_10s"),
        ids=ids,
    )


def _transcript(obj: Mapping[str, Any], ids: Correlation, is_final: bool) -> TranscriptEvent:
    t0 = f.opt_float(obj, "t0") or 0.0
    return TranscriptEvent(
        is_final=is_final,
        text=f.text(obj, "text"),
        t0=t0,
        t1=max(t0, f.opt_float(obj, "t1") or t0),
        source=f.opt_text(obj, "source"),
        confidence=f.opt_float(obj, "confidence"),
        stable=f.opt_flag(obj, "stable"),
        language=f.opt_text(obj, "language"),
        segment_id=f.opt_text(obj, "segment_id"),
        speaker=f.opt_text(obj, "speaker"),
        ids=ids,
    )


def _entity(item: Mapping[str, Any]) -> Entity:
    return Entity(
        name=f.text(item, "name"),
        type=f.text(item, "type"),
        count=f.opt_int(item, "count") or 0,
        last_seen=f.opt_float(item, "last_seen"),
        confidence=f.opt_float(item, "confidence"),
        grounding=f.texts(item, "grounding"),
    )


def _entities(obj: Mapping[str, Any], ids: Correlation) -> EntitiesEvent:
    def group(key: str) -> tuple[Entity, ...]:
        return tuple(_entity(item) for item in f.objects(obj, key) if f.text(item, "name"))

    return EntitiesEvent(
        group("people"), group("orgs"), group("dates"), group("projects"), group("topics"), ids
    )


def _card(item: Mapping[str, Any]) -> Card:
    return Card(
        text=f.text(item, "text"),
        owner=f.opt_text(item, "owner"),
        due=f.opt_text(item, "due"),
        confidence=f.opt_float(item, "confidence"),
        evidence=f.texts(item, "evidence"),
    )


def _cards_of(obj: Mapping[str, Any], key: str) -> tuple[Card, ...]:
    return tuple(_card(item) for item in f.objects(obj, key) if f.text(item, "text"))


def _cards(obj: Mapping[str, Any], ids: Correlation) -> CardsEvent:
    return CardsEvent(
        _cards_of(obj, "actions"),
        _cards_of(obj, "decisions"),
        _cards_of(obj, "risks"),
        f.opt_mapping(obj, "window"),
        ids,
    )


def _final_summary(obj: Mapping[str, Any], ids: Correlation) -> FinalSummaryEvent:
    data = f.opt_mapping(obj, "json") or {}
    return FinalSummaryEvent(
        markdown=f.text(obj, "markdown"),
        transcript=tuple(_transcript(seg, ids, True) for seg in f.objects(data, "transcript")),
        actions=_cards_of(data, "actions"),
        decisions=_cards_of(data, "decisions"),
        risks=_cards_of(data, "risks"),
        data=data,
        ids=ids,
    )


def final_insights(
    summary: FinalSummaryEvent, cards: CardsEvent | None, entities: EntitiesEvent | None
) -> tuple[CardsEvent | None, EntitiesEvent | None]:
    """Cards and entities once the final summary came: the summary's first (it covers the whole last
    connection), then the live ones it does not repeat (earlier connections), matched by text/name. So
    the window, the history and the exports show one list, never two that disagree."""
    data = summary.data
    if any(key in data for key in ("actions", "decisions", "risks")):
        live = cards or CardsEvent()

        def card_key(card: Card) -> str:
            return card.text.strip().lower()

        cards = CardsEvent(_merge(summary.actions, live.actions, card_key),
                           _merge(summary.decisions, live.decisions, card_key),
                           _merge(summary.risks, live.risks, card_key), live.window, summary.ids)
    found = f.opt_mapping(data, "entities")
    if found is not None:
        final, known = _entities(found, summary.ids), entities or EntitiesEvent()

        def name_key(entity: Entity) -> str:
            return entity.name.strip().lower()

        entities = EntitiesEvent(
            _merge(final.people, known.people, name_key), _merge(final.orgs, known.orgs, name_key),
            _merge(final.dates, known.dates, name_key), _merge(final.projects, known.projects, name_key),
            _merge(final.topics, known.topics, name_key), summary.ids)
    return cards, entities


def _merge(first: tuple[T, ...], then: tuple[T, ...], key: Callable[[T], str]) -> tuple[T, ...]:
    seen = {key(item) for item in first}
    return (*first, *(item for item in then if key(item) not in seen))


def _error(obj: Mapping[str, Any], ids: Correlation) -> ErrorEvent:
    return ErrorEvent(f.text(obj, "message") or "The server reported an error without a message", ids)


SERVER_DECODERS: dict[str, Callable[[Mapping[str, Any], Correlation], ServerEvent]] = {
    "status": _status,
    "metrics": _metrics,
    "asr_final": lambda obj, ids: _transcript(obj, ids, True),
    "asr_partial": lambda obj, ids: _transcript(obj, ids, False),
    "entities_update": _entities,
    "cards_update": _cards,
    "final_summary": _final_summary,
    "error": _error,
}
