"""Transcript pane: partials are replaced in place by the final; autoscroll pauses while the user
reads back and resumes at the bottom."""

from __future__ import annotations

import pytest
from transcriptkit import final, partial, shown_pane

from app.core.session_state import TranscriptSegment
from app.ui.transcript import format_timestamp


@pytest.fixture
def pane(qtbot):
    return shown_pane(qtbot)


def test_partial_is_replaced_in_place_by_its_final(pane):
    pane.set_segments([final("good morning", 0.0), partial("let us", 2.0)])
    pane.set_segments([final("good morning", 0.0), partial("let us begin the", 2.0)])
    lines = pane.plain_text().splitlines()
    assert lines == ["[00:00] Mic: good morning", "[00:02] Mic: let us begin the …"]
    pane.set_segments([final("good morning", 0.0), final("let us begin the review", 2.0)])
    lines = pane.plain_text().splitlines()
    assert lines == ["[00:00] Mic: good morning", "[00:02] Mic: let us begin the review"]


def test_one_partial_per_source_and_sources_are_tagged(pane):
    pane.set_segments(
        [final("hello", 1.0, "system"), partial("yes", 2.0, "mic"), partial("so", 3.0, "system")]
    )
    assert pane.plain_text().splitlines() == [
        "[00:01] System: hello",
        "[00:02] Mic: yes …",
        "[00:03] System: so …",
    ]


def test_new_session_rerenders_from_scratch(pane):
    pane.set_segments([final("old", 0.0)])
    pane.set_segments([final("new", 0.0)])
    assert pane.plain_text() == "[00:00] Mic: new"


def test_timestamps():
    assert format_timestamp(0) == "00:00"
    assert format_timestamp(75.9) == "01:15"
    assert format_timestamp(3725) == "1:02:05"


def _many(n: int) -> list[TranscriptSegment]:
    return [final(f"sentence number {i} of the meeting", i * 2.0) for i in range(n)]


def test_autoscroll_follows_then_pauses_when_scrolled_up_and_resumes_at_bottom(pane, qtbot):
    bar = pane.view.verticalScrollBar()
    pane.set_segments(_many(40))
    assert bar.maximum() > 0
    assert bar.value() == bar.maximum()  # following: at the bottom
    assert pane.is_following()

    bar.setValue(0)  # the user scrolls back
    assert not pane.is_following()
    pane.set_segments([*_many(60), partial("still talking", 200.0)])
    assert bar.value() == 0  # stayed where the user is reading
    assert not pane.is_following()
    assert "still talking" in pane.plain_text()

    bar.setValue(bar.maximum())  # back to the bottom: following again
    assert pane.is_following()
    pane.set_segments(_many(80))
    assert bar.value() == bar.maximum()


def test_jump_to_latest_resumes_following(pane):
    bar = pane.view.verticalScrollBar()
    pane.set_segments(_many(40))
    bar.setValue(0)
    assert not pane.is_following()
    assert pane.jump_button.isVisibleTo(pane)
    pane.jump_button.click()
    assert pane.is_following()
    assert bar.value() == bar.maximum()
    assert not pane.jump_button.isVisibleTo(pane)


class ModelEdits:
    """Which rows the pane's model said it changed (dataChanged, rowsInserted, rowsRemoved)."""

    def __init__(self, model) -> None:
        self.rows: list[tuple[str, int, int]] = []
        model.dataChanged.connect(lambda top, end, *_: self.rows.append(("changed", top.row(), end.row())))
        model.rowsInserted.connect(lambda _parent, first, last: self.rows.append(("inserted", first, last)))
        model.rowsRemoved.connect(lambda _parent, first, last: self.rows.append(("removed", first, last)))
        model.modelReset.connect(lambda: self.rows.append(("reset", 0, -1)))

    def first_row_touched(self) -> int:
        return min(first for _, first, _ in self.rows)


def test_a_late_final_from_a_lagging_source_rewrites_only_from_where_it_lands(pane):
    head = [final(f"line {i}", i * 2.0) for i in range(30)]
    pane.set_segments(head)
    edits = ModelEdits(pane.model)
    late = final("late system line", 55.0, "system")
    pane.set_segments([*head[:28], late, *head[28:], partial("next", 61.0)])
    lines = pane.plain_text().splitlines()
    assert lines[27:] == [
        "[00:54] Mic: line 27",
        "[00:55] System: late system line",
        "[00:56] Mic: line 28",
        "[00:58] Mic: line 29",
        "[01:01] Mic: next …",
    ]
    assert len(lines) == 32
    assert edits.first_row_touched() == 28  # rows before the late line were not rewritten
    assert ("reset", 0, -1) not in edits.rows


def test_line_breaks_inside_a_segment_stay_on_one_line(pane):
    pane.set_segments([final("two\nlines", 0.0), final("after", 1.0)])
    pane.set_segments([final("two\nlines", 0.0), final("after", 1.0), final("third", 2.0)])
    assert pane.plain_text().splitlines() == [
        "[00:00] Mic: two lines",
        "[00:01] Mic: after",
        "[00:02] Mic: third",
    ]


def test_a_long_meeting_keeps_one_reference_and_one_height_per_line(pane):
    """Every partial is replaced in place at 2 Hz for the whole meeting, and a text document kept
    the layout of every line (issue 17): the pane keeps the session's own segment objects (no copy
    of their text) and one wrapped height per row; the growth itself is measured by
    ``python -m app.bench app``."""
    finals: list[TranscriptSegment] = []
    for tick in range(600):  # five minutes of 2 Hz updates, a final every fifth
        if tick % 5 == 0:
            finals.append(final(f"line {tick}", tick * 0.5))
        pane.set_segments([*finals, partial(f"words so far {tick}", tick * 0.5 + 0.1, "system")])
    rows = pane.model.rows
    assert len(rows) == len(finals) + 1  # the lines shown, nothing else
    assert all(shown is segment for shown, segment in zip(rows, finals, strict=False))
    assert len(pane.view.row_delegate._heights) <= len(rows)


def test_split_and_export_follow_the_snapshot_order_finals_then_partials():
    from app.core.session_state import SessionSnapshot
    from app.ui.present import export_document, split_transcript

    finals = tuple(final(f"line {i}", i * 2.0, "mic" if i % 2 else "system") for i in range(5))
    partials = (partial("mic so far", 11.0), partial("system so far", 11.5, "system"))
    assert split_transcript((*finals, *partials)) == (finals, partials)
    assert split_transcript(finals) == (finals, ())
    assert split_transcript(partials) == ((), partials)
    assert split_transcript(()) == ((), ())
    doc = export_document(SessionSnapshot(session_id="s", transcript=(*finals, *partials)))
    assert doc is not None and doc.segments == finals


def test_a_long_meeting_keeps_its_shown_lines_when_only_the_partial_changes(pane):
    head = [final(f"line {i}", i * 2.0) for i in range(300)]
    pane.set_segments([*head, partial("so far", 601.0)])
    edits = ModelEdits(pane.model)
    pane.set_segments([*head, partial("so far and more", 601.0)])
    assert edits.rows == [("changed", 300, 300)]  # the partial replaced in place, nothing else
    pane.set_segments([*head, final("so far and more", 601.0), partial("next", 603.0)])
    lines = pane.plain_text().splitlines()
    assert len(lines) == 302 and lines[-2:] == ["[10:01] Mic: so far and more", "[10:03] Mic: next …"]
    assert edits.first_row_touched() == 300
    pane.set_segments([*head, final("so far and more", 601.0), partial("next", 603.0)])
    assert len(edits.rows) == 3  # the same transcript again: no edit at all


def test_a_final_landing_before_the_other_sources_partial_changes_only_its_own_row(pane):
    head = [final(f"line {i}", i * 2.0) for i in range(10)]
    mic_so_far = partial("mic so far", 21.0)
    pane.set_segments([*head, partial("system so far", 20.0, "system"), mic_so_far])
    edits = ModelEdits(pane.model)
    pane.set_segments([*head, final("system said", 20.0, "system"), mic_so_far])
    assert edits.rows == [("changed", 10, 10)]  # the mic's partial row is left alone
    assert pane.plain_text().splitlines()[-2:] == ["[00:20] System: system said", "[00:21] Mic: mic so far …"]
