"""Connect the controller's signals to the window's plain-value setters, and the window's
intents back to the controller. The only place that knows both."""

from __future__ import annotations

from app.ui.controller import SessionController
from app.ui.message_bar import Severity
from app.ui.window import MainWindow

OPEN_SETTINGS = "Open Settings…"


def bind(window: MainWindow, controller: SessionController) -> None:
    controller.status_changed.connect(window.set_status)
    controller.inputs_changed.connect(window.set_inputs)
    controller.losses_changed.connect(window.set_losses)
    controller.sources_changed.connect(window.set_sources)
    controller.chart_sampled.connect(window.add_chart_sample)
    controller.connection_changed.connect(window.set_connection)
    controller.server_status_changed.connect(window.set_server_status)
    controller.transcript_changed.connect(window.set_transcript)
    controller.cards_changed.connect(window.set_cards)
    controller.entities_changed.connect(window.set_entities)
    controller.document_changed.connect(window.set_document)
    controller.throttling_changed.connect(window.set_throttling)
    controller.message.connect(lambda text, severity: window.show_message(text, Severity(severity)))
    controller.settings_offered.connect(  # beside the failure's reason, under the light
        lambda: window.lines.offer(OPEN_SETTINGS, window.settings_requested.emit))
    controller.running_changed.connect(lambda running: _running_changed(window, running))
    window.start_stop_requested.connect(controller.toggle)
    window.throttling_toggled.connect(controller.set_throttling)
    window.set_throttling(controller.throttling())


def _running_changed(window: MainWindow, running: bool) -> None:
    window.chart.clear()  # a new session starts a new 60 s history; after Stop its "now" is gone
    if running:
        window.message_bar.dismiss()  # the last session's problems are no news in the next one
        window.lines.withdraw()
