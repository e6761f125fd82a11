"""Cards (actions, decisions, risks) and entities (people, orgs, dates, projects, topics) panes.

Each takes the latest ``CardsEvent`` / ``EntitiesEvent`` (or ``None``) and rebuilds only when the
value differs from what it shows; the server sends these every 12-40 s, so a rebuild is cheap.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from app.core.messages import Card, CardsEvent, EntitiesEvent, Entity

CARD_GROUPS = (("actions", "Actions"), ("decisions", "Decisions"), ("risks", "Risks"))
ENTITY_GROUPS = (
    ("people", "People"),
    ("orgs", "Organisations"),
    ("dates", "Dates"),
    ("projects", "Projects"),
    ("topics", "Topics"),
)


def card_line(card: Card) -> str:
    extras = [
        x for x in (f"owner: {card.owner}" if card.owner else "", f"due: {card.due}" if card.due else "") if x
    ]
    return f"{card.text} ({', '.join(extras)})" if extras else card.text


def entity_line(entity: Entity) -> str:
    return f"{entity.name} ×{entity.count}" if entity.count > 1 else entity.name


class _GroupedTree(QTreeWidget):
    def __init__(self, name: str, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setAccessibleName(name)
        self.setRootIsDecorated(True)
        self.setWordWrap(True)
        self._empty_text = empty_text
        self._shown: object = object()
        self._fill(())

    def _fill(self, groups: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        self.clear()
        if not any(lines for _, lines in groups):
            self.addTopLevelItem(QTreeWidgetItem([self._empty_text]))
            return
        for title, lines in groups:
            if not lines:
                continue
            group = QTreeWidgetItem([f"{title} ({len(lines)})"])
            for line in lines:
                item = QTreeWidgetItem([line])
                item.setToolTip(0, line)
                group.addChild(item)
            self.addTopLevelItem(group)
            group.setExpanded(True)

    def texts(self) -> list[str]:
        """Every line shown, depth-first (for tests and export previews)."""
        out: list[str] = []
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            if top is None:
                continue
            out.append(top.text(0))
            children = (top.child(j) for j in range(top.childCount()))
            out.extend(child.text(0) for child in children if child is not None)
        return out


class CardsPane(_GroupedTree):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Actions, decisions and risks", "No actions, decisions or risks yet.", parent)

    def set_cards(self, cards: CardsEvent | None) -> None:
        if cards is self._shown or cards == self._shown:
            return
        self._shown = cards
        if cards is None:
            self._fill(())
            return
        self._fill(
            tuple((title, tuple(card_line(c) for c in getattr(cards, key))) for key, title in CARD_GROUPS)
        )


class EntitiesPane(_GroupedTree):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Entities", "No people, organisations or topics yet.", parent)

    def set_entities(self, entities: EntitiesEvent | None) -> None:
        if entities is self._shown or entities == self._shown:
            return
        self._shown = entities
        if entities is None:
            self._fill(())
            return
        self._fill(
            tuple(
                (title, tuple(entity_line(e) for e in getattr(entities, key))) for key, title in ENTITY_GROUPS
            )
        )
