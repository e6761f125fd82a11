"""The main window: the traffic light with its reason line, per-source panels and the fill chart,
session controls, and tabs for the transcript, cards/entities and the summary.

The window holds widgets and actions only; it takes plain values through its ``set_*`` methods
and reports the user's intent through signals. ``app.ui.binding`` connects it to the controller.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
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
from app.core.level import Level
from app.core.messages import CardsEvent, EntitiesEvent
from app.core.session_state import TranscriptSegment
from app.ui.chart import FillChart
from app.ui.history_view import HistoryPane
from app.ui.insights import CardsPane, EntitiesPane
from app.ui.lamp import TrafficLight
from app.ui.level_style import style_for
from app.ui.menus import make_actions, make_menus
from app.ui.message_bar import MessageBar, Severity
from app.ui.meters import SourcePanel
from app.ui.models import ConnectionView, SourceView
from app.ui.screen_fit import fit_vertically, reserve_space
from app.ui.sources import SourcePicker
from app.ui.summary import SummaryView
from app.ui.transcript import TranscriptPane

APP_TITLE = "EchoPanel Companion"
LIGHT_COLUMN_WIDTH = 210
CONNECTION_WORDS = {
    "idle": "Not connected",
    "checking": "Checking the backend",
    "connecting": "Connecting",
    "streaming": "Streaming",
    "reconnecting": "Reconnecting",
    "stopping": "Stopping — waiting for the summary",
    "stopped": "Stopped",
    "failed": "Failed",
}


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


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
        make_actions(self)
        self._make_widgets()
        make_menus(self)
        self.set_level(Level.IDLE, "Not streaming")
        self.set_connection(ConnectionView("idle", "", False, "Built-in backend"))
        self.resize(1100, 760)

    # ------------------------------------------------------------------ construction

    def _make_widgets(self) -> None:
        self.message_bar = MessageBar()
        self.lamp = TrafficLight()
        self.reason_label = QLabel()
        self.reason_label.setObjectName("reasonLine")
        self.reason_label.setWordWrap(True)
        self.reason_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("startStopButton")
        self.start_button.setToolTip("Start or stop streaming (Ctrl+Return)")
        self.start_button.clicked.connect(self.start_stop_action.trigger)
        self.settings_button = QPushButton("Settings…")
        self.settings_button.clicked.connect(self.settings_action.trigger)
        self.source_picker = SourcePicker()
        self.backend_label = QLabel()
        self.backend_label.setObjectName("backendLine")
        self.connection_label = QLabel()
        self.connection_label.setObjectName("connectionLine")
        self.connection_label.setWordWrap(True)
        self.server_status_label = QLabel()
        self.server_status_label.setObjectName("serverStatusLine")
        self.server_status_label.setWordWrap(True)
        self.server_status_label.setVisible(False)
        self.throttle_label = QLabel()
        self.throttle_label.setWordWrap(True)
        lines = (self.connection_label, self.server_status_label, self.throttle_label, self.reason_label)
        for label in lines:
            label.setTextFormat(Qt.TextFormat.PlainText)  # server text is never rendered as HTML
        self.panels = {name: SourcePanel(name) for name in ("system", "mic")}
        self.chart = FillChart()
        self.transcript = TranscriptPane()
        self.cards = CardsPane()
        self.entities = EntitiesPane()
        self.summary = SummaryView()
        self.summary.export_requested.connect(self.export_requested)
        self.history = HistoryPane()
        self.setCentralWidget(self._layout_widgets())

    def _layout_widgets(self) -> QWidget:
        light_column = QWidget()
        light_column.setFixedWidth(LIGHT_COLUMN_WIDTH)  # the reason's length must not resize the lamp
        light = QVBoxLayout(light_column)
        light.setContentsMargins(0, 0, 0, 0)
        light.addWidget(self.lamp, 1)
        light.addWidget(self.reason_label)
        controls = QHBoxLayout()
        controls.addWidget(self.start_button)
        controls.addWidget(self.backend_label, 1)
        controls.addWidget(self.settings_button)
        status = QVBoxLayout()
        status.addWidget(self.source_picker)
        status.addWidget(self.connection_label)
        status.addWidget(self.server_status_label)
        status.addWidget(self.throttle_label)
        panels = QHBoxLayout()
        for panel in self.panels.values():
            panels.addWidget(panel)
        right = QVBoxLayout()
        right.addLayout(controls)
        right.addLayout(status)
        right.addLayout(panels)
        right.addWidget(self.chart, 1)
        top = QHBoxLayout()
        top.addWidget(light_column, 0)
        top.addLayout(right, 1)
        top_widget = QWidget()
        top_widget.setLayout(top)
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
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.addWidget(splitter, 1)
        outer.addWidget(reserve_space(self.message_bar))  # below everything, space always kept: nothing moves
        return central

    def tray_actions(self) -> tuple[QAction | None, ...]:
        """The actions the tray menu shows (``None`` = separator)."""
        return (self.start_stop_action, self.show_action, self.throttle_action, None, self.quit_action)

    # ------------------------------------------------------------------ plain-value setters

    def set_level(self, level: Level, reason: str) -> None:
        self.lamp.set_level(level, reason)
        self.reason_label.setText(reason)
        self.setWindowTitle(f"{APP_TITLE} — {style_for(level).label}")

    def set_sources(self, views: Sequence[SourceView]) -> None:
        for view in views:
            panel = self.panels.get(view.source)
            if panel is not None:
                panel.set_view(view)

    def add_chart_sample(self, t: float, values: dict[str, float | None]) -> None:
        self.chart.add_sample(t, values)

    def set_connection(self, view: ConnectionView) -> None:
        self._running = view.running
        word = CONNECTION_WORDS.get(view.state, view.state)
        parts = [word]
        if view.elapsed_seconds > 0:
            parts.append(_clock(view.elapsed_seconds))
        if view.reconnects:
            parts.append(f"{view.reconnects} reconnect{'s' if view.reconnects != 1 else ''}")
        line = " · ".join(parts)
        self.connection_label.setText(f"{line} — {view.detail}" if view.detail else line)
        self.backend_label.setText(f"Backend: {view.backend}")
        self.throttle_label.setText(
            f"Adaptive throttling: {view.throttle_note}" if view.throttle_note else ""
        )
        self.throttle_label.setVisible(bool(view.throttle_note))
        text = "&Stop" if view.running else "&Start"
        self.start_stop_action.setText(text)
        self.start_button.setText(text.replace("&", ""))
        self.source_picker.setEnabled(not view.running)

    def set_server_status(self, text: str) -> None:
        """The server's last status line ("Server: overloaded — ..."); hidden when ""."""
        self.server_status_label.setText(text)
        self.server_status_label.setVisible(bool(text))

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
