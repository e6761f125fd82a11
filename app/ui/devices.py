"""The ``DeviceLister`` the app uses: input devices from ``app.capture.devices`` as ``DeviceRef`` lists.

Imported lazily so a machine without PortAudio still gets a window (with only the defaults offered).
"""

from __future__ import annotations

import logging

from app.core.settings import DeviceRef
from app.ui.sources import DeviceLists

log = logging.getLogger(__name__)


def list_devices() -> DeviceLists:
    """Input devices by role: microphones for the microphone picker, monitors and loopbacks for the
    system-audio picker; outputs that PortAudio also lists as inputs are offered for neither."""
    try:
        from app.capture.devices import list_input_devices

        infos = list_input_devices()
    except Exception as exc:  # PortAudio missing or broken: offer the defaults, say why in the log
        log.warning("cannot list audio devices: %s", exc)
        return DeviceLists()
    from app.core.devices import DeviceRole, device_role

    def refs(role: DeviceRole) -> tuple[DeviceRef, ...]:
        found = (DeviceRef(i.name, i.hostapi) for i in infos if device_role(i.name) is role)
        return tuple(dict.fromkeys(found))

    return DeviceLists(microphones=refs(DeviceRole.MICROPHONE), system=refs(DeviceRole.LOOPBACK))
