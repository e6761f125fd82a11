"""A meeting's title for the history list: a specific heading of the backend's summary if it has one,
else the first words spoken. Pure functions.
"""

from __future__ import annotations

import re

FIRST_WORDS = 10
TITLE_CHARS = 80
# Headings every summary has: they say nothing about this meeting.
GENERIC_HEADINGS = frozenset({
    "summary", "session summary", "meeting summary", "meeting notes", "notes", "final summary", "meeting",
    "overview", "key points", "action items", "actions", "decisions", "risks", "entities", "transcript",
    "topics", "participants", "next steps", "details", "highlights", "minutes", "meeting minutes",
})
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")


def title_from_summary(markdown: str | None) -> str:
    """The first heading of ``markdown`` that is not a generic section name, or ""."""
    for line in (markdown or "").splitlines():
        match = _HEADING.match(line)
        if match is None:
            continue
        text = re.sub(r"[*_`]", "", match.group(1)).strip()
        if text and text.lower().rstrip(":") not in GENERIC_HEADINGS:
            return _clip(text)
    return ""


def first_words(text: str, limit: int = FIRST_WORDS) -> str:
    """The first ``limit`` words of ``text``, with an ellipsis when there were more."""
    words = text.split()
    return _clip(" ".join(words[:limit]) + (" …" if len(words) > limit else ""))


def display_title(title: str, words: str) -> str:
    return title or words or "(nothing transcribed)"


def _clip(text: str) -> str:
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"
