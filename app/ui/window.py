"""The main window: the status light with its plain-language lines (headline, detail, a silent-source
warning, the small server-load badge), the input level meters and session controls above; the
diagnostics panel (queues, drops, the chart; collapsed by default) and tabs for the transcript,
cards/entities, the summary and the history below, where the transcript gets the room.

The window holds widgets and actions only; it takes plain values through its ``set_*`` methods
and reports the user's intent through signals. ``app.ui.binding`` connects it to the controller.
Every status line comes from one ``StatusView`` (``set_status``), so they cannot disagree; what the
lines say is ``app.ui.status_lines``' (the connection line too: ``connection_text``).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.export import ExportDocument
from app.core.losses import LossSpan
from app.core.messages import CardsEvent, EntitiesEvent
from app.core.session_state import TranscriptSegment
from app.core.status_report import IDLE_STATUS
from app.ui.diagnostics import DiagnosticsPanel
from app.ui.history_view import HistoryPane
from app.ui.input_meters import InputMeters
from app.ui.insights import CardsPane, EntitiesPane
from app.ui.lamp import TrafficLight
from app.ui.menus import make_actions, make_menus
from app.ui.message_bar import MessageBar, Severity
from app.ui.models import ConnectionView, SourceView
from app.ui.screen_fit import fit_vertically, reserve_space
from app.ui.sources import SourcePicker
from app.ui.status_lines import StatusLines, connection_text
from app.ui.status_view import APP_NAME, StatusView, status_view
from app.ui.summary import SummaryView
from app.ui.transcript import TranscriptPane

APP_TITLE = APP_NAME
LAMP_HEIGHT_SHARE = 0.24  # the lamp's height, as a share of the window's: it scales with the window
LAMP_HEIGHT_RANGE = (140, 320)


class MainWindow(QMainWindow):
    start_stop_requested = Signal()
    settings_requested = Signal()
    quit_requested = Signal()
    about_requested = Signal()
    throttling_toggled = Signal(bool)
    export_requested = Signal(str)  # "md", "json" or "srt": the current meeting
    copy_transcript_requested = Signal()
    check_requested = Signal()  # Help > Check audio and backend
    hidden_to_tray = Signal()  # the window was closed and the app keeps running in the tray
    # Actions (app.ui.menus makes them)
    start_stop_action: QAction
    settings_action: QAction
    quit_action: QAction
    throttle_action: QAction
    show_action: QAction
    about_action: QAction
    export_action: QAction
    copy_action: QAction
    history_action: QAction
    check_action: QAction

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_TITLE)
        self.setObjectName("mainWindow")
        self._running = False
        self._hide_on_close = False
        self._status: StatusView | None = None
        make_actions(self)
        self._make_widgets()
        make_menus(self)
        self.set_status(status_view(IDLE_STATUS))
        self.set_connection(ConnectionView("idle", "", False, "Built-in backend"))
        self.resize(1100, 760)

    # ------------------------------------------------------------------ construction

    def _make_widgets(self) -> None:
        self.message_bar = MessageBar()
        self.lamp = TrafficLight()
        self.lines = StatusLines()
        self.headline_label = self.lines.headline
        self.reason_label = self.headline_label  # the light's reason: its headline
        self.detail_label = self.lines.detail
        self.silent_label = self.lines.silent
        self.server_badge = self.lines.badge
        self.connection_label = self.lines.connection
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("startStopButton")
        self.start_button.setToolTip("Start or stop streaming (Ctrl+Return)")
        self.start_button.clicked.connect(self.start_stop_action.trigger)
        self.settings_button = QPushButton("Settings…")
        self.settings_button.clicked.connect(self.settings_action.trigger)
        self.source_picker = SourcePicker()
        self.backend_label = QLabel()
        self.backend_label.setObjectName("backendLine")
        self.input_meters = InputMeters()
        self.diagnostics = DiagnosticsPanel()
        self.server_status_label = self.diagnostics.server_status_label
        self.throttle_label = self.diagnostics.throttle_label
        self.panels = self.diagnostics.panels
        self.chart = self.diagnostics.chart
        self.transcript = TranscriptPane()
        self.cards = CardsPane()
        self.entities = EntitiesPane()
        self.summary = SummaryView()
        self.summary.export_requested.connect(self.export_requested)
        self.history = HistoryPane()
        self.setCentralWidget(self._layout_widgets())

    def _layout_widgets(self) -> QWidget:
        words = QVBoxLayout()
        words.addWidget(self.lines)
        words.addWidget(self.input_meters)
        controls = QHBoxLayout()
        controls.addWidget(self.start_button)
        controls.addWidget(self.backend_label, 1)
        controls.addWidget(self.settings_button)
        words.addLayout(controls)
        words.addWidget(self.source_picker)
        words.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.lamp, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(words, 1)
        column = QVBoxLayout()
        column.addLayout(top)
        column.addWidget(self.diagnostics, 1)
        top_widget = QWidget()
        top_widget.setLayout(column)
        insights = QSplitter(Qt.Orientation.Horizontal)
        insights.addWidget(self.cards)
        insights.addWidget(self.entities)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.transcript, "&Transcript")
        self.tabs.addTab(insights, "&Actions && entities")
        self.tabs.addTab(self.summary, "S&ummary")
        self.tabs.addTab(self.history, "&History")
        # The transcript keeps at least eight lines; the status area above scrolls only on a screen too
        # small for both (app.ui.screen_fit.allow_scrolling), instead of the window overflowing it.
        line = self.fontMetrics().lineSpacing()
        self.tabs.setMinimumHeight(self.tabs.tabBar().sizeHint().height() + 8 * line + 16)
        self.top_area = fit_vertically(top_widget)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.top_area)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(0, False)
        splitter.setCollapsible(1, False)
        self.splitter = splitter
        self._fitted = False
        self.diagnostics.toggled.connect(lambda _shown: self.fit_status_area())
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.addWidget(splitter, 1)
        outer.addWidget(reserve_space(self.message_bar))  # below everything, space always kept: nothing moves
        self._size_lamp()
        return central

    def _size_lamp(self) -> None:
        """The lamp follows the window's height (and the caption's font), never a fixed column."""
        low, high = LAMP_HEIGHT_RANGE
        height = int(min(high, max(low, self.height() * LAMP_HEIGHT_SHARE)))
        caption = self.fontMetrics().horizontalAdvance("Losing audio") + self.fontMetrics().height() + 16
        self.lamp.setFixedSize(max(int(height * 0.45), caption), height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._size_lamp()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._fitted:
            self._fitted = True
            self.fit_status_area()

    def fit_status_area(self) -> None:
        """The status area takes what it needs (more with the diagnostics open); the transcript the rest."""
        content = self.top_area.widget()
        if content is not None:
            content.adjustSize()
        total = sum(self.splitter.sizes())
        top = min(self.top_area.sizeHint().height(), total - self.tabs.minimumHeight())
        self.splitter.setSizes([max(top, self.top_area.minimumSizeHint().height()), total - top])

    def tray_actions(self) -> tuple[QAction | None, ...]:
        """The actions the tray menu shows (``None`` = separator)."""
        return (self.start_stop_action, self.show_action, self.throttle_action, None, self.quit_action)

    # ------------------------------------------------------------------ plain-value setters

    def set_status(self, view: StatusView) -> None:
        """The light and every line beside it, from one view; a line with nothing to say is hidden."""
        if view == self._status:
            return
        self._status = view
        self.lamp.set_light(view.light, view.reason)
        self.lines.set_view(view)
        self.setWindowTitle(view.title())

    def status(self) -> StatusView | None:
        return self._status

    def set_sources(self, views: Sequence[SourceView]) -> None:
        for view in views:
            panel = self.panels.get(view.source)
            if panel is not None:
                panel.set_view(view)

    def set_inputs(self, levels: Sequence[tuple[str, float | None]]) -> None:
        self.input_meters.set_levels(levels)

    def add_chart_sample(self, t: float, values: dict[str, float | None]) -> None:
        self.chart.add_sample(t, values)

    def set_connection(self, view: ConnectionView) -> None:
        """While a session runs: what the connection does, the meeting's time and reconnects; else hidden
        (the light says whether the last one failed)."""
        self._running = view.running
        self.lines.set_connection(connection_text(view))
        self.backend_label.setText(f"Backend: {view.backend}")
        self.diagnostics.set_throttle_note(view.throttle_note)
        text = "&Stop" if view.running else "&Start"
        self.start_stop_action.setText(text)
        self.start_button.setText(text.replace("&", ""))
        self.source_picker.setEnabled(not view.running)

    def set_server_status(self, text: str) -> None:
        """The server's last status line (diagnostics); hidden when ""."""
        self.diagnostics.set_server_status(text)

    def set_losses(self, losses: Sequence[LossSpan]) -> None:
        """Inline markers in the live transcript where audio was lost."""
        self.transcript.set_losses(losses)

    def set_transcript(self, segments: Sequence[TranscriptSegment]) -> None:
        self.transcript.set_segments(segments)

    def set_cards(self, cards: CardsEvent | None) -> None:
        self.cards.set_cards(cards)

    def set_entities(self, entities: EntitiesEvent | None) -> None:
        self.entities.set_entities(entities)

    def set_document(self, doc: ExportDocument | None) -> None:
        self.summary.set_document(doc)

    def set_throttling(self, enabled: bool) -> None:
        """Reflect the setting without re-emitting ``throttling_toggled``."""
        blocked = self.throttle_action.blockSignals(True)
        self.throttle_action.setChecked(enabled)
        self.throttle_action.blockSignals(blocked)

    def show_message(self, text: str, severity: Severity = Severity.INFO) -> None:
        self.message_bar.show_message(text, severity)
        self.message_bar.setToolTip(text)  # the status area shows two lines; the whole text is here

    def set_hide_on_close(self, hide: bool) -> None:
        """With a tray icon, closing the window hides it; without one, closing quits."""
        self._hide_on_close = hide

    def bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def is_running(self) -> bool:
        return self._running

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()
        if self._hide_on_close:
            self.hide()
            self.hidden_to_tray.emit()
        else:
            self.quit_requested.emit()
