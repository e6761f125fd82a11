"""Source choice (both / microphone / system audio) with a device picker per source.

Devices are identified by ``DeviceRef`` (name + host API, never an index, which changes between runs). The
list comes through the ``DeviceLister`` seam so this widget never imports the capture layer;
the composition root passes a lister backed by ``app.capture.devices``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from app.core.settings import DeviceRef

SOURCE_CHOICES = (
    ("both", "Mic + system audio"),
    ("mic", "Microphone only"),
    ("system", "System audio only"),
)


def device_label(ref: DeviceRef | None) -> str:
    if ref is None:
        return "System default"
    return f"{ref.name} ({ref.host_api})" if ref.host_api else ref.name


@dataclass(frozen=True, slots=True)
class DeviceLists:
    microphones: tuple[DeviceRef, ...] = ()
    system: tuple[DeviceRef, ...] = ()  # inputs that can carry system audio (loopback / monitor)


DeviceLister = Callable[[], DeviceLists]


def _fill(combo: QComboBox, options: Sequence[DeviceRef], selected: DeviceRef | None) -> None:
    blocked = combo.blockSignals(True)
    combo.clear()
    entries: list[DeviceRef | None] = [None, *dict.fromkeys(options)]
    if selected is not None and selected not in entries:
        entries.append(selected)  # keep a saved device visible even while it is unplugged
    for key in entries:
        combo.addItem(device_label(key), key)
    combo.setCurrentIndex(entries.index(selected))
    combo.blockSignals(blocked)


def _current(combo: QComboBox) -> DeviceRef | None:
    data = combo.currentData()
    return data if isinstance(data, DeviceRef) else None


class SourcePicker(QWidget):
    """Emits ``changed`` when the user picks another source choice or device."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choice = QComboBox()
        self.choice.setAccessibleName("Audio sources")
        for key, label in SOURCE_CHOICES:
            self.choice.addItem(label, key)
        self.mic = QComboBox()
        self.mic.setAccessibleName("Microphone device")
        self.system = QComboBox()
        self.system.setAccessibleName("System audio device")
        for combo in (self.mic, self.system):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.choice)
        self._mic_label = QLabel("Mic:")
        self._system_label = QLabel("System:")
        for caption, combo in ((self._mic_label, self.mic), (self._system_label, self.system)):
            caption.setBuddy(combo)
            layout.addWidget(caption)
            layout.addWidget(combo, 1)
        self.set_devices(DeviceLists(), None, None)
        self.choice.currentIndexChanged.connect(self._on_changed)
        self.mic.currentIndexChanged.connect(self._on_changed)
        self.system.currentIndexChanged.connect(self._on_changed)
        self._sync_enabled()

    def set_devices(self, lists: DeviceLists, mic: DeviceRef | None, system: DeviceRef | None) -> None:
        _fill(self.mic, lists.microphones, mic)
        _fill(self.system, lists.system, system)

    def set_choice(self, key: str) -> None:
        index = self.choice.findData(key)
        blocked = self.choice.blockSignals(True)
        self.choice.setCurrentIndex(max(0, index))
        self.choice.blockSignals(blocked)
        self._sync_enabled()

    def current_choice(self) -> str:
        return str(self.choice.currentData())

    def current_mic(self) -> DeviceRef | None:
        return _current(self.mic)

    def current_system(self) -> DeviceRef | None:
        return _current(self.system)

    def _on_changed(self) -> None:
        self._sync_enabled()
        self.changed.emit()

    def _sync_enabled(self) -> None:
        choice = self.current_choice()
        self.mic.setEnabled(choice in ("both", "mic"))
        self.system.setEnabled(choice in ("both", "system"))
