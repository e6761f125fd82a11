"""The transcript's virtualised view: rows wrap to the width and are laid out only while on screen;
rows can be selected and copied as text (keyboard, context menu); colours follow the palette."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication
from transcriptkit import final, partial, shown_pane

from app.core.losses import LossCause, LossSpan
from app.core.transcript_rows import row_parts
from app.ui.transcript_view import LOSS_INK, row_formats

LONG = "and then we went through every item on the list one by one until the very last of them " * 3


@pytest.fixture
def pane(qtbot):
    return shown_pane(qtbot)


def row_rect(pane, row):
    return pane.view.visualRect(pane.model.index(row))


def test_selected_rows_copy_as_text_with_ctrl_c(pane, qtbot):
    pane.set_segments([final("first", 0.0), final("second", 2.0, "system"), final("third", 4.0)])
    view = pane.view
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=row_rect(pane, 0).center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     row_rect(pane, 1).center())
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "[00:00] Mic: first\n[00:02] System: second"


def test_the_context_menu_offers_copy_and_select_all(pane):
    pane.set_segments([final("first", 0.0), final("second", 2.0), partial("so far", 4.0)])
    view = pane.view
    assert view.contextMenuPolicy() is Qt.ContextMenuPolicy.ActionsContextMenu
    assert [a.text() for a in view.actions()] == ["&Copy", "Select &all"]
    view.select_all_action.trigger()
    view.copy_action.trigger()
    assert QGuiApplication.clipboard().text() == pane.plain_text()
    assert pane.plain_text().endswith("[00:04] Mic: so far …")


def test_a_selected_line_stays_selected_while_the_transcript_grows(pane):
    head = [final(f"line {i}", i * 2.0) for i in range(5)]
    pane.set_segments([*head, partial("so", 11.0)])
    pane.view.selectionModel().select(pane.model.index(2), pane.view.selectionModel().SelectionFlag.Select)
    pane.set_segments([*head, partial("so far", 11.0)])
    pane.set_segments([*head, final("so far done", 11.0), partial("next", 13.0)])
    assert pane.view.selected_text() == "[00:04] Mic: line 2"


def test_long_lines_wrap_to_the_width_and_rewrap_when_it_changes(pane, qtbot):
    pane.set_segments([final("short", 0.0), final(LONG, 1.0)])
    short, long = row_rect(pane, 0).height(), row_rect(pane, 1).height()
    assert long >= 3 * short
    assert row_rect(pane, 1).width() <= pane.view.viewport().width()
    pane.resize(1400, 200)
    qtbot.waitUntil(lambda: row_rect(pane, 1).height() < long)


def test_a_partial_that_grows_onto_more_lines_gets_taller(pane):
    pane.set_segments([final("hello", 0.0), partial("so", 2.0)])
    one_line = row_rect(pane, 1).height()
    pane.set_segments([final("hello", 0.0), partial(LONG, 2.0)])
    assert row_rect(pane, 1).height() > one_line


def test_only_the_rows_on_screen_are_laid_out(pane, qtbot):
    """The point of the view (issue 17): a meeting of thousands of lines measures and keeps the
    layout of a screenful of them, not of every line."""
    rows = [final(f"sentence number {i} of a long meeting", i * 2.0) for i in range(3000)]
    pane.set_segments([*rows, partial("still talking", 6001.0)])
    pane.view.viewport().repaint()
    delegate = pane.view.row_delegate
    screenful = pane.view.viewport().height() // pane.view.fontMetrics().lineSpacing() + 1
    assert 0 < len(delegate._on_screen) <= screenful
    measured = sum(1 for height in delegate._heights if height)
    assert measured <= 3 * screenful  # those shown and the last page (the scroll range), not 3000
    assert pane.plain_text().splitlines()[-1] == "[1:40:01] Mic: still talking …"


def test_following_keeps_the_last_line_in_view_when_the_pane_narrows(pane, qtbot):
    pane.set_segments([final(f"{LONG} {i}", i * 2.0) for i in range(30)])
    assert pane.is_following()
    pane.resize(300, 200)
    bar = pane.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum() and bar.maximum() > 0)
    assert pane.is_following()
    last = row_rect(pane, 29)
    assert last.isValid() and last.bottom() <= pane.view.viewport().height() + 1


def test_a_larger_font_measures_the_rows_again(pane, qtbot):
    pane.set_segments([final("hello", 0.0), final("there", 1.0)])
    small = row_rect(pane, 0).height()
    font = QFont(pane.view.font())
    font.setPointSize(font.pointSize() * 2)
    pane.view.setFont(font)
    qtbot.waitUntil(lambda: row_rect(pane, 0).height() > small)


def test_screen_readers_get_the_name_and_each_rows_text(pane):
    pane.set_segments([final("hello", 0.0, "system")])
    assert pane.view.accessibleName() == "Transcript"
    index = pane.model.index(0)
    assert pane.model.data(index, Qt.ItemDataRole.DisplayRole) == "[00:00] System: hello"
    assert pane.model.data(index, Qt.ItemDataRole.AccessibleTextRole) == "[00:00] System: hello"


def test_an_empty_pane_shows_its_placeholder_line(pane):
    blank = QColor(pane.view.palette().color(QPalette.ColorRole.Base))
    image = pane.view.viewport().grab().toImage()
    colours = {image.pixelColor(x, y).rgb() for x in range(0, 300, 2) for y in range(0, 20)}
    assert len(colours) > 1 and blank.rgb() in colours  # some text drawn on the base
    pane.set_segments([final("hello", 0.0)])
    pane.clear()
    assert pane.plain_text() == "" and pane.model.rowCount() == 0


def _palette(base: str, text: str) -> QPalette:
    palette = QPalette(QApplication.palette())
    palette.setColor(QPalette.ColorRole.Base, QColor(base))
    palette.setColor(QPalette.ColorRole.Text, QColor(text))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#888888"))
    return palette


def test_styles_muted_stamps_bold_tags_italic_partials_and_loss_ink_for_light_and_dark():
    light, dark = _palette("#ffffff", "#000000"), _palette("#202020", "#eeeeee")
    stamp, tag, body = row_formats(row_parts(partial("so far", 1.0)), light, False)
    assert stamp.format.foreground().color() == QColor("#888888")
    assert tag.format.fontWeight() == QFont.Weight.Bold
    assert body.format.fontItalic() and body.format.foreground().color() == QColor("#888888")
    _, _, body = row_formats(row_parts(final("done", 1.0)), light, False)
    assert not body.format.fontItalic()
    loss = row_parts(LossSpan("system", 20.0, 33.0, LossCause.SERVER_DROP))
    (marker,) = row_formats(loss, light, False)
    assert marker.format.fontItalic() and marker.format.foreground().color() == LOSS_INK[False]
    (marker,) = row_formats(loss, dark, False)
    assert marker.format.foreground().color() == LOSS_INK[True]
    (marker,) = row_formats(loss, dark, True)  # selected: the highlight's text colour, for contrast
    assert marker.format.foreground().style() == Qt.BrushStyle.NoBrush


def test_a_row_paints_its_text_within_its_rectangle(pane):
    pane.set_segments([final("hello", 0.0)])
    rect = row_rect(pane, 0)
    image = pane.view.viewport().grab().toImage()
    base = pane.view.palette().color(QPalette.ColorRole.Base).rgb()
    xs, ys = range(rect.left(), rect.left() + 120), range(rect.top(), rect.bottom())
    points = (QPoint(x, y) for x in xs for y in ys)
    assert any(image.pixelColor(point).rgb() != base for point in points)
