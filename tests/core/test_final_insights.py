"""Once the final summary arrives, cards and entities are one list: the summary's, then the live ones
it does not repeat (from earlier connections), so no two sections disagree."""

from __future__ import annotations

from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity, FinalSummaryEvent
from app.core.server_decoders import final_insights

LIVE_CARDS = CardsEvent(actions=(Card("send the budget"), Card("Book the room")),
                        risks=(Card("Late vendor"),))
LIVE_ENTITIES = EntitiesEvent(people=(Entity("Ana", "person", 1), Entity("Bob", "person", 1)))


def test_the_summary_comes_first_and_live_items_it_lacks_are_kept():
    summary = FinalSummaryEvent(
        actions=(Card("Send the budget", owner="Ana"),), decisions=(Card("Ship Monday"),),
        data={"actions": [{"text": "Send the budget"}], "decisions": [{"text": "Ship Monday"}],
              "entities": {"people": [{"name": "ana", "count": 4}], "topics": [{"name": "budget"}]}})
    cards, entities = final_insights(summary, LIVE_CARDS, LIVE_ENTITIES)
    assert cards is not None and entities is not None
    assert [c.text for c in cards.actions] == ["Send the budget", "Book the room"]
    assert cards.actions[0].owner == "Ana"
    assert [c.text for c in cards.decisions] == ["Ship Monday"]
    assert [c.text for c in cards.risks] == ["Late vendor"]
    assert [(e.name, e.count) for e in entities.people] == [("ana", 4), ("Bob", 1)]
    assert [e.name for e in entities.topics] == ["budget"]


def test_a_summary_without_cards_or_entities_changes_nothing():
    assert final_insights(FinalSummaryEvent(markdown="# x"), LIVE_CARDS, None) == (LIVE_CARDS, None)
