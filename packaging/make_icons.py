"""Render the app icon from its SVG source into the PNG sizes, the Windows .ico and the macOS .icns.

    .venv/bin/python packaging/make_icons.py            # (re)write resources/app/*
    .venv/bin/python packaging/make_icons.py --check    # exit 1 if a generated file is missing or stale
    .venv/bin/python packaging/make_icons.py --out DIR  # write into DIR instead (tests)

Contract: the outputs are a function of resources/app/echopanel-companion.svg and the pinned PySide6.
Qt's rasteriser is NOT bit-exact across CPUs (its SIMD paths round antialiased edges differently: one
level in a handful of pixels), so `--check` never compares encoded bytes: it decodes every image,
the PNGs and those inside the .ico and .icns, and accepts a re-render that differs from the
committed pixels by at most ``PIXEL_TOLERANCE`` levels per channel in at most
``PIXEL_SHARE_TOLERANCE`` of the pixels. An edited SVG changes far more than that (see
tests/packaging/test_packaging_files.py). Only PySide6 and numpy are needed, so this runs anywhere
the dev venv exists; the .ico and .icns containers are written here (both are simple chunk formats
holding PNG images) so no icon tool is needed.

Outputs (in the output directory):
  png/echopanel-companion-{16,24,32,48,64,128,256,512}.png
  echopanel-companion.ico   PNG entries 16..256 (Windows Vista and later read PNG entries)
  echopanel-companion.icns  PNG entries icp4..ic14 (16 px to 1024 px; macOS 10.7 and later)
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "resources" / "app"
SVG = APP_DIR / "echopanel-companion.svg"
NAME = "echopanel-companion"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
PIXEL_TOLERANCE = 2  # levels (0-255) per channel: rasteriser rounding between CPUs is 1
PIXEL_SHARE_TOLERANCE = 0.01  # of the pixels may differ at all (seen: at most 14 of 262 144)
# ICNS element types that hold PNG data, with their pixel size (the @2x types are retina variants).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)


def render_pngs(svg: Path, sizes: set[int]) -> dict[int, bytes]:
    """Render `svg` at each size (square, transparent background) and return PNG bytes per size."""
    # A QGuiApplication is needed for QImage painting; offscreen so no display is required.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {svg} is not a valid SVG")
    out: dict[int, bytes] = {}
    for size in sorted(sizes):
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buf, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; PySide6 takes str
        buf.close()
        out[size] = bytes(data.data())
    del app  # keep the application alive until all images are painted
    return out


def build_ico(pngs: dict[int, bytes]) -> bytes:
    """An ICO container with one PNG entry per size (ICONDIR + ICONDIRENTRY table + images)."""
    count = len(pngs)
    header = struct.pack("<HHH", 0, 1, count)
    offset = 6 + 16 * count
    table, images = b"", b""
    for size, png in sorted(pngs.items()):
        dim = 0 if size >= 256 else size  # 0 means 256 in the one-byte width/height fields
        table += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset)
        images += png
        offset += len(png)
    return header + table + images


def build_icns(entries: list[tuple[bytes, bytes]]) -> bytes:
    """An ICNS container: 'icns' + total length, then (type, length incl. 8-byte header, data) chunks."""
    body = b"".join(kind + struct.pack(">I", len(data) + 8) + data for kind, data in entries)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def generate(svg: Path = SVG) -> dict[str, bytes]:
    """Every output file (path relative to the output directory) mapped to its bytes."""
    sizes = set(PNG_SIZES) | set(ICO_SIZES) | {px for _, px in ICNS_TYPES}
    pngs = render_pngs(svg, sizes)
    files = {f"png/{NAME}-{s}.png": pngs[s] for s in PNG_SIZES}
    files[f"{NAME}.ico"] = build_ico({s: pngs[s] for s in ICO_SIZES})
    files[f"{NAME}.icns"] = build_icns([(kind, pngs[px]) for kind, px in ICNS_TYPES])
    return files


def png_pixels(data: bytes) -> npt.NDArray[np.uint8] | None:
    """Decoded RGBA pixels (height x width x 4, straight alpha) of PNG bytes, or None if undecodable."""
    from PySide6.QtGui import QImage

    image = QImage.fromData(data, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; str works
    if image.isNull():
        return None
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    raw = np.frombuffer(bytes(image.constBits()), dtype=np.uint8)  # type: ignore[call-overload]
    stride = image.bytesPerLine()
    rows = raw.reshape(image.height(), stride)[:, : image.width() * 4]
    return rows.reshape(image.height(), image.width(), 4).copy()


def image_difference(expected: bytes, actual: bytes) -> str | None:
    """Why two PNGs are not the same picture within the tolerances, or None if they are."""
    a, b = png_pixels(expected), png_pixels(actual)
    if a is None or b is None:
        return "not a decodable PNG"
    if a.shape != b.shape:
        return f"size {a.shape[1]}x{a.shape[0]} != {b.shape[1]}x{b.shape[0]}"
    delta = np.abs(a.astype(np.int16) - b.astype(np.int16))
    worst = int(delta.max())
    changed = float((delta.max(axis=2) > 0).mean())
    if worst > PIXEL_TOLERANCE or changed > PIXEL_SHARE_TOLERANCE:
        return f"pixels differ by up to {worst} levels in {changed:.2%} of the image"
    return None


def container_entries(name: str, data: bytes) -> list[tuple[str, bytes]] | None:
    """The (label, PNG bytes) entries of an output file: itself for a PNG, the images of an .ico or
    .icns in order; None if the container is malformed."""
    try:
        if name.endswith(".ico"):
            _, _, count = struct.unpack_from("<HHH", data)
            out = []
            for i in range(count):
                length, offset = struct.unpack_from("<II", data, 6 + 16 * i + 8)
                out.append((f"entry {i}", data[offset : offset + length]))
            return out
        if name.endswith(".icns"):
            out, pos = [], 8
            while pos < len(data):
                kind, length = data[pos : pos + 4], struct.unpack_from(">I", data, pos + 4)[0]
                if length < 8:
                    return None
                out.append((kind.decode("latin-1"), data[pos + 8 : pos + length]))
                pos += length
            return out
    except struct.error:
        return None
    return [("image", data)]


def stale_reason(name: str, committed: bytes, rendered: bytes) -> str | None:
    """Why the committed output ``name`` does not match a fresh render, or None if it does."""
    old, new = container_entries(name, committed), container_entries(name, rendered)
    if old is None:
        return "malformed container"
    assert new is not None
    if [label for label, _ in old] != [label for label, _ in new]:
        return "different entries"
    for (label, a), (_, b) in zip(old, new, strict=True):
        why = image_difference(a, b)
        if why is not None:
            return why if label == "image" else f"{label}: {why}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the generated files are up to date")
    parser.add_argument("--out", type=Path, default=APP_DIR, help="output directory (default resources/app)")
    args = parser.parse_args(argv)
    files = generate()
    if args.check:
        stale = 0
        for rel, data in files.items():
            path = args.out / rel
            why = "missing" if not path.is_file() else stale_reason(rel, path.read_bytes(), data)
            if why is not None:
                stale += 1
                print(f"make_icons: {path} is stale ({why}); run packaging/make_icons.py", file=sys.stderr)
        return 1 if stale else 0
    for rel, data in files.items():
        path = args.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"make_icons: wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
