"""The transcript pane's rows as plain data: what each row says, where loss markers go, and which
rows an update replaces, inserts or removes."""

from __future__ import annotations

from app.core.export import clock as format_timestamp
from app.core.losses import LossCause, LossSpan
from app.core.session_state import TranscriptSegment
from app.core.transcript_rows import (
    Row,
    RowKind,
    RowPlan,
    plan_rows,
    row_parts,
    row_text,
    with_losses,
)


def final(text: str, t0: float, source: str = "mic", **kw: object) -> TranscriptSegment:
    return TranscriptSegment(source, text, t0, t0 + 1.5, True, **kw)  # type: ignore[arg-type]


def partial(text: str, t0: float, source: str = "mic") -> TranscriptSegment:
    return TranscriptSegment(source, text, t0, t0 + 1.0, False)


def test_a_row_has_a_time_stamp_a_tag_and_its_words_on_one_line():
    parts = row_parts(final("two\nlines  here", 75.9, "system", speaker="Ana"))
    assert (parts.kind, parts.stamp, parts.tag, parts.body) == (
        RowKind.FINAL, "[01:15] ", "System (Ana): ", "two lines here")
    assert parts.text == "[01:15] System (Ana): two lines here"
    assert row_text(partial("so far", 3725)) == "[1:02:05] Mic: so far …"
    assert row_parts(partial("so far", 1)).kind is RowKind.PARTIAL
    assert row_text(final("hm", 2.0, "other")) == "[00:02] other: hm"


def test_an_approximate_time_is_marked_as_in_the_exports():
    assert row_text(final("placed roughly", 12.0, approximate=True, error_seconds=0.8)) == (
        "[~00:12] Mic: placed roughly")


def test_a_loss_marker_is_one_row_in_the_words_of_the_exports():
    parts = row_parts(LossSpan("system", 20.0, 33.0, LossCause.SERVER_DROP))
    assert parts.kind is RowKind.LOSS
    assert parts.text == "[00:20–00:33] System audio not transcribed: backend overloaded"


def test_loss_markers_sit_before_the_first_final_at_or_after_them():
    finals = [final("a", 10.0), final("b", 40.0)]
    early = LossSpan("mic", 5.0, 6.0, LossCause.CAPTURE)
    middle = LossSpan("system", 20.0, 27.0, LossCause.SERVER_DROP)
    assert with_losses(finals, [middle, early]) == [early, finals[0], middle, finals[1]]
    assert with_losses(finals, []) == finals


def test_plan_keeps_the_unchanged_head_and_replaces_the_rest_in_place():
    head: list[Row] = [final(f"line {i}", i * 2.0) for i in range(5)]
    shown = [*head, partial("so far", 11.0)]
    assert plan_rows(shown, list(shown)) == RowPlan(keep=6, replace=0, insert=0, remove=0)
    grown = [*head, partial("so far and", 11.0)]
    assert plan_rows(shown, grown) == RowPlan(keep=5, replace=1, insert=0, remove=0)
    turned = [*head, final("so far and more", 11.0), partial("next", 13.0)]
    assert plan_rows(shown, turned) == RowPlan(keep=5, replace=1, insert=1, remove=0)
    late = [*head[:3], final("late", 5.0, "system"), *head[3:]]
    assert plan_rows(shown, late) == RowPlan(keep=3, replace=3, insert=0, remove=0)
    assert plan_rows(shown, []) == RowPlan(keep=0, replace=0, insert=0, remove=6)
    assert plan_rows([], head) == RowPlan(keep=0, replace=0, insert=5, remove=0)


def test_plan_compares_by_value_when_the_objects_are_new():
    shown: list[Row] = [final("a", 1.0), final("b", 2.0)]
    assert plan_rows(shown, [final("a", 1.0), final("c", 2.0)]).keep == 1


def test_timestamps():
    assert format_timestamp(-3) == "00:00"
    assert format_timestamp(59.99) == "00:59"
    assert format_timestamp(3600) == "1:00:00"
