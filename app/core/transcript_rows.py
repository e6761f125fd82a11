"""The live transcript pane's rows, as plain data: what each row says and which rows an update changes.

Pure: no Qt. A row is a final segment, a loss marker ("[00:20–00:33] System audio not transcribed:
backend overloaded", placed among the finals by time) or a live partial (at the end, one per source).
``row_parts`` splits a row into its time stamp, its source/speaker tag and its body, so the view can
style each part; ``row_text`` is the same row as plain text (what Copy puts on the clipboard).
``plan_rows`` compares the rows shown with the new ones: the unchanged leading rows stay, the rows
after them are replaced in place, and only the difference in count is inserted or removed at the end,
so a partial turning into its final changes one row and appends one.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.export import clock, loss_range, loss_text  # the same mm:ss and loss words as every export
from app.core.losses import LossSpan
from app.core.session_state import TranscriptSegment

SOURCE_TAGS = {"system": "System", "mic": "Mic"}
Row = TranscriptSegment | LossSpan


class RowKind(enum.Enum):
    FINAL = "final"
    PARTIAL = "partial"
    LOSS = "loss"


@dataclass(frozen=True, slots=True)
class RowParts:
    kind: RowKind
    stamp: str  # "[00:02] " ("[~00:02] " when the time is approximate); "" for a loss marker
    tag: str  # "Mic (Ana): "; "" for a loss marker
    body: str  # the words on one line (a partial ends in " …"), or the whole loss marker

    @property
    def text(self) -> str:
        return f"{self.stamp}{self.tag}{self.body}"


@dataclass(frozen=True, slots=True)
class RowPlan:
    keep: int  # leading rows unchanged
    replace: int  # rows after them replaced in place (same positions)
    insert: int  # rows appended after those
    remove: int  # rows removed from the end


def row_parts(row: Row) -> RowParts:
    if isinstance(row, LossSpan):
        return RowParts(RowKind.LOSS, "", "", f"[{loss_range(row)}] {loss_text(row)}")
    mark = "~" if row.approximate else ""
    speaker = f" ({row.speaker})" if row.speaker else ""
    text = " ".join(row.text.split())  # one row per segment: no line breaks inside
    return RowParts(
        RowKind.FINAL if row.is_final else RowKind.PARTIAL,
        f"[{mark}{clock(row.t0)}] ",
        f"{SOURCE_TAGS.get(row.source, row.source)}{speaker}: ",
        text if row.is_final else f"{text} …",
    )


def row_text(row: Row) -> str:
    return row_parts(row).text


def with_losses(finals: Sequence[TranscriptSegment], losses: Sequence[LossSpan]) -> list[Row]:
    """The finals (in time order) with each loss marker before the first final that starts at or after it."""
    rows: list[Row] = list(finals)
    if not losses:
        return rows
    starts = [s.t0 for s in finals]
    for offset, span in enumerate(sorted(losses, key=lambda s: (s.start, s.source))):
        rows.insert(bisect.bisect_left(starts, span.start) + offset, span)
    return rows


def common_prefix(shown: list[Row], new: list[Row]) -> int:
    """How many leading rows are unchanged (identity first: the session reuses its objects). The usual
    case, everything shown still there and maybe more after it, is one comparison at C speed rather
    than a Python loop over a long meeting twice a second."""
    if len(new) >= len(shown) and new[: len(shown)] == shown:
        return len(shown)
    count = 0
    for old, fresh in zip(shown, new, strict=False):
        if old is not fresh and old != fresh:
            break
        count += 1
    return count


def plan_rows(shown: list[Row], new: list[Row]) -> RowPlan:
    keep = common_prefix(shown, new)
    replace = min(len(shown), len(new)) - keep
    return RowPlan(keep, replace, max(0, len(new) - len(shown)), max(0, len(shown) - len(new)))
