"""The packaging inputs that need no build: runtime hooks, generated icons, desktop entry, metainfo."""

from __future__ import annotations

import configparser
import ctypes.util
import os
import runpy
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bundlekit import ROOT
from PySide6.QtGui import QImage

RTHOOKS = ROOT / "packaging" / "rthooks"
APP_ICONS = ROOT / "resources" / "app"
LINUX = ROOT / "resources" / "linux"
APP_ID = "io.echopanel.Companion"


def _fake_find_library(system_has_portaudio: bool):  # type: ignore[no-untyped-def]
    # The system's library search cannot be emptied on a test machine, so it is replaced here.
    def find(name: str) -> str | None:
        if name == "portaudio":
            return "libportaudio.so.2" if system_has_portaudio else None
        return f"lib{name}.so"

    return find


@pytest.mark.parametrize("system_has_portaudio", [True, False])
def test_portaudio_hook_prefers_the_system_copy_then_the_bundled_one(
    system_has_portaudio: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "libportaudio.so.2").write_bytes(b"\x7fELF")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", _fake_find_library(system_has_portaudio))
    runpy.run_path(str(RTHOOKS / "rthook_portaudio.py"))
    found = ctypes.util.find_library("portaudio")
    assert found == ("libportaudio.so.2" if system_has_portaudio else str(tmp_path / "libportaudio.so.2"))
    assert ctypes.util.find_library("m") == "libm.so"  # other libraries are left alone


def test_portaudio_hook_returns_none_when_neither_copy_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", _fake_find_library(False))
    runpy.run_path(str(RTHOOKS / "rthook_portaudio.py"))
    assert ctypes.util.find_library("portaudio") is None  # sounddevice then raises its own clear OSError


def test_qt_api_hook_selects_pyside6(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_API", "pyqt6")
    runpy.run_path(str(RTHOOKS / "rthook_qt_api.py"))
    assert os.environ["QT_API"] == "pyside6"


def test_generated_icons_match_the_svg_source() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "make_icons.py"), "--check"],
        capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_png_sizes_are_square_and_not_blank(size: int) -> None:
    image = QImage(str(APP_ICONS / "png" / f"echopanel-companion-{size}.png"))
    assert (image.width(), image.height()) == (size, size)
    colours = {image.pixel(x, y) for x in range(size) for y in range(size)}
    assert len(colours) >= (4 if size <= 24 else 16)


def _png_size(data: bytes) -> tuple[int, int]:
    image = QImage.fromData(data, "PNG")  # type: ignore[arg-type]  # the stubs say bytes; str works
    assert not image.isNull()
    return image.width(), image.height()


def test_ico_holds_one_png_per_size() -> None:
    data = (APP_ICONS / "echopanel-companion.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _, _, planes, bits, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * i)
        assert (planes, bits) == (1, 32)
        actual = _png_size(data[offset : offset + length])
        assert actual == (w or 256, h or 256)
        sizes.append(actual[0])
    assert sizes == [16, 24, 32, 48, 64, 128, 256]


def test_icns_holds_png_elements_up_to_1024() -> None:
    data = (APP_ICONS / "echopanel-companion.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack_from(">I", data, 4)[0] == len(data)
    expected = {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256, b"ic09": 512,
                b"ic10": 1024, b"ic11": 32, b"ic12": 64, b"ic13": 256, b"ic14": 512}
    found, pos = {}, 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack_from(">I", data, pos + 4)[0]
        found[kind] = _png_size(data[pos + 8 : pos + length])[0]
        pos += length
    assert pos == len(data)
    assert found == expected


def test_desktop_entry_names_the_app_id_icon_and_executable() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(LINUX / f"{APP_ID}.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Icon"] == APP_ID
    assert entry["Exec"] == entry["TryExec"] == "echopanel-companion"  # the installer makes it absolute
    assert entry["StartupWMClass"] == "echopanel-companion"  # Qt's WM_CLASS instance = executable name
    assert "AudioVideo" in entry["Categories"].split(";")


def test_metainfo_launches_the_desktop_entry() -> None:
    root = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == f"{APP_ID}.desktop"
    assert root.findtext("provides/binary") == "echopanel-companion"
    assert root.find("releases/release") is not None


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_passes_desktop_file_validate() -> None:
    done = subprocess.run(["desktop-file-validate", str(LINUX / f"{APP_ID}.desktop")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_metainfo_passes_appstreamcli_validate() -> None:
    done = subprocess.run(["appstreamcli", "validate", "--no-net", str(LINUX / f"{APP_ID}.metainfo.xml")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
