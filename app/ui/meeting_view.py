"""One stored meeting in its own window: everything the export holds (date, duration, sources, what
was not transcribed, the summary, actions, entities and the one timeline with its loss markers),
with Export, Copy transcript and Delete; and, when the meeting's audio was recorded, where the files
are, with a button that opens their folder (or says where it is when no file manager exists).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.export import to_markdown
from app.history import StoredMeeting
from app.history.document import export_document
from app.ui.history_view import date_text
from app.ui.screen_fit import clamp_to_screen

PREFERRED_SIZE = (760, 680)


class MeetingWindow(QDialog):
    export_requested = Signal(str)
    copy_requested = Signal()
    delete_requested = Signal()

    def __init__(self, meeting: StoredMeeting, parent: QWidget | None = None,
                 data_folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("meetingWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.meeting = meeting
        doc = export_document(meeting)
        self.setWindowTitle(f"{meeting.row.title} — {date_text(meeting.row.started_at)}")
        self.browser = QTextBrowser()
        self.browser.setAccessibleName("Meeting")
        self.browser.setOpenExternalLinks(False)
        self.browser.setMarkdown(to_markdown(doc))
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        self.audio_label = QLabel()
        self.audio_label.setWordWrap(True)
        self.audio_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._audio_folder: Path | None = None
        if meeting.audio and data_folder is not None:
            files = [data_folder / a.path for a in meeting.audio]
            self._audio_folder = files[0].parent
            self.audio_label.setText("Audio recorded: " + ", ".join(str(f) for f in files))
        self.audio_label.setVisible(self._audio_folder is not None)
        layout.addWidget(self.audio_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = buttons.addButton("E&xport…", QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.clicked.connect(lambda: self.export_requested.emit("md"))
        self.copy_button = buttons.addButton("&Copy transcript", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_requested)
        self.audio_button = buttons.addButton("Show &audio files", QDialogButtonBox.ButtonRole.ActionRole)
        self.audio_button.setVisible(self._audio_folder is not None)
        self.audio_button.clicked.connect(self.show_audio)
        self.delete_button = buttons.addButton("&Delete…", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.delete_button.clicked.connect(self.delete_requested)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        clamp_to_screen(self, QSize(*PREFERRED_SIZE))

    def show_audio(self) -> bool:
        folder = self._audio_folder
        if folder is None:
            return False
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            return True
        self.audio_label.setText(f"No file manager could be opened. The audio is in: {folder}")
        return False
