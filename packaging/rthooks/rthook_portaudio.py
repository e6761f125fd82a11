# PyInstaller runtime hook: let sounddevice find the libportaudio.so.2 that the bundle carries.
# sounddevice locates PortAudio with ctypes.util.find_library('portaudio'), which only searches
# the system (ldconfig cache), so a machine without apt's libportaudio2 would fail with
# "PortAudio library not found" even though the bundle has the library. Prefer the system copy
# (it matches the system's ALSA and JACK), fall back to the bundled one. On Windows and macOS
# sounddevice falls back to its own _sounddevice_data copy, which the bundle collects.
import ctypes.util
import os
import sys

_orig_find_library = ctypes.util.find_library


def _find_library(name):
    found = _orig_find_library(name)
    if found is None and name == "portaudio":
        bundled = os.path.join(getattr(sys, "_MEIPASS", ""), "libportaudio.so.2")
        if os.path.exists(bundled):
            return bundled
    return found


ctypes.util.find_library = _find_library
