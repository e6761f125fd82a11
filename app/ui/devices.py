"""The ``DeviceLister`` the app uses: input devices from ``app.capture.devices`` as ``DeviceRef`` lists.

Imported lazily so a machine without PortAudio still gets a window (with only the defaults offered).
"""

from __future__ import annotations

import logging

from app.core.settings import DeviceRef
from app.ui.sources import DeviceLists

log = logging.getLogger(__name__)


def list_devices() -> DeviceLists:
    """Every input device for both pickers (a monitor/loopback input can be either)."""
    try:
        from app.capture.devices import list_input_devices

        infos = list_input_devices()
    except Exception as exc:  # PortAudio missing or broken: offer the defaults, say why in the log
        log.warning("cannot list audio devices: %s", exc)
        return DeviceLists()
    refs = tuple(dict.fromkeys(DeviceRef(info.name, info.hostapi) for info in infos))
    return DeviceLists(microphones=refs, system=refs)
