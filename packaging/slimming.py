"""Build-time slimming of the Linux bundle, used by echopanel-companion.spec (and its tests).

Reductions that lose nothing the app uses, each checked by the packaging tests:

- ``build_icu_data``: a copy of Qt's ICU data library (``libicudata.so.NN``, 31 MB, 11 MB after)
  holding the data Qt's calls into ICU use (collation, calendars and time-zone names, locale data),
  without the data of ICU services Qt never calls (break iteration, units, currencies, language and
  region names, transliteration, number spell-out) and without the legacy codepage tables (the app
  only uses UTF-8, which needs no table).
- ``strip_copy``: ``strip --strip-unneeded`` into a cache copy, kept only when the result still
  loads (binutils' strip misplaces the extra LOAD segments that patchelf adds to auditwheel-repaired
  libraries: "ELF load command address/offset not page-aligned").
- ``NUMPY_LEFT_OUT``: numpy subpackages the spec excludes.

Standard library only at import time (the spec and the tests import this module).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

# numpy subpackages that `import numpy` loads only on first attribute access and that neither the app nor
# its libraries touch (numpy.random alone is 2.7 MB of extension modules); _multiarray_tests is numpy's
# own test helper. The spec excludes them; a test fails if app/ starts using one.
NUMPY_LEFT_OUT = ("numpy.random", "numpy.ma", "numpy.polynomial", "numpy.testing", "numpy.ctypeslib",
                  "numpy.matlib", "numpy._core._multiarray_tests")

# --- ICU data ---------------------------------------------------------------------------------------

# Resource trees (``icudtNNl/<tree>/...``) of ICU services that libQt6Core never calls: it imports only
# ucol_* (QCollator), ucal_* (QTimeZone names), u_strToUpper/Lower (QLocale casing) and ucnv_*
# (QStringConverter for non-Unicode codecs). Checked against libQt6Core's imports by the tests, which
# also compare Qt's collation, casing and time-zone names with and without the dropped data.
ICU_UNUSED_TREES = ("brkitr", "unit", "curr", "translit", "rbnf", "lang", "region")
# Top-level items of unused services: legacy codepage tables (QStringConverter's non-Unicode codecs;
# the app reads and writes only UTF-8), StringPrep profiles, spoof checks, character names, emoji and
# layout properties.
ICU_UNUSED_SUFFIXES = (".cnv", ".spp", ".cfu")
ICU_UNUSED_ITEMS = ("unames.icu", "uemoji.icu", "ulayout.icu")


def icu_item_kept(name: str) -> bool:
    """True for an item (``icudt73l/coll/de.res``) that stays in the bundle's ICU data."""
    parts = name.split("/")[1:]
    if len(parts) > 1:
        return parts[0] not in ICU_UNUSED_TREES
    return not (parts[0].endswith(ICU_UNUSED_SUFFIXES) or parts[0] in ICU_UNUSED_ITEMS)


def _elf_symbol(data: bytes, pattern: str) -> tuple[str, int, int]:
    """(name, file offset, size) of the first dynamic symbol matching ``pattern`` in an ELF64 LE file."""
    if data[:6] != b"\x7fELF\x02\x01":
        raise ValueError("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    for _, sh_type, _, _, offset, size, link, _, _, entsize in sections:
        if sh_type != 11:  # SHT_DYNSYM
            continue
        strtab = sections[link][4]
        for pos in range(offset, offset + size, entsize):
            st_name, _, _, _, value, sym_size = struct.unpack_from("<IBBHQQ", data, pos)
            name = data[strtab + st_name : data.index(b"\0", strtab + st_name)].decode()
            if re.fullmatch(pattern, name):
                for _, _, _, addr, sec_off, sec_size, *_ in sections:
                    if addr <= value < addr + sec_size and sec_off:
                        return name, sec_off + value - addr, sym_size
    raise ValueError(f"no dynamic symbol matching {pattern!r}")


def read_icu_package(blob: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Split an ICU common data package (``icudtNNl.dat`` layout) into its header and named items."""
    header_size, = struct.unpack_from("<H", blob, 0)
    if blob[2:4] != b"\xda\x27" or blob[12:16] != b"CmnD":
        raise ValueError("not an ICU common data package")
    count, = struct.unpack_from("<I", blob, header_size)
    toc = [struct.unpack_from("<II", blob, header_size + 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_off, data_off) in enumerate(toc):
        start = header_size + name_off
        name = blob[start : blob.index(b"\0", start)].decode("ascii")
        end = header_size + toc[i + 1][1] if i + 1 < count else len(blob)
        items.append((name, blob[header_size + data_off : end]))
    return blob[:header_size], items


def write_icu_package(header: bytes, items: list[tuple[str, bytes]]) -> bytes:
    """Inverse of ``read_icu_package``: names sorted (ICU binary-searches them), items 16-byte aligned."""
    items = sorted(items)
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in items)
    toc_size = 4 + 8 * len(items)
    name_offsets, pos = [], toc_size
    for name, _ in items:
        name_offsets.append(pos)
        pos += len(name) + 1
    pos = (pos + 15) & ~15
    body, data_offsets = bytearray(), []
    for _, data in items:
        data_offsets.append(pos + len(body))
        body += data + b"\0" * (-len(data) % 16)
    toc = struct.pack("<I", len(items)) + b"".join(
        struct.pack("<II", n, d) for n, d in zip(name_offsets, data_offsets, strict=True))
    padding = b"\0" * (pos - toc_size - len(names))
    return header + toc + names + padding + bytes(body)


def build_icu_data(src: Path, out: Path, keep: Callable[[str], bool] = icu_item_kept) -> tuple[int, int]:
    """Write to ``out`` a copy of the ICU data library ``src`` holding only the items ``keep`` accepts.

    The library is rebuilt with binutils (``as`` + ``ld``): one read-only symbol ``icudtNN_dat`` under
    the same soname, which is all a data library is. Returns (items kept, items dropped).
    """
    data = src.read_bytes()
    symbol, offset, size = _elf_symbol(data, r"icudt\d+_dat")
    header, items = read_icu_package(data[offset : offset + size])
    kept = [(name, item) for name, item in items if keep(name)]
    with tempfile.TemporaryDirectory() as tmp:
        dat, asm, obj = Path(tmp, "icu.dat"), Path(tmp, "icu.s"), Path(tmp, "icu.o")
        dat.write_bytes(write_icu_package(header, kept))
        asm.write_text(
            f'\t.section .rodata\n\t.globl {symbol}\n\t.type {symbol}, @object\n\t.balign 16\n{symbol}:\n'
            f'\t.incbin "{dat}"\n\t.size {symbol}, . - {symbol}\n\t.section .note.GNU-stack,"",@progbits\n'
        )
        subprocess.run(["as", "-o", str(obj), str(asm)], check=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ld", "-shared", "-soname", src.name, "-o", str(out), str(obj)], check=True)
    return len(kept), len(items) - len(kept)


def icu_data_items(lib: Path) -> list[str]:
    """Names of the items in an ICU data library (for the tests)."""
    data = lib.read_bytes()
    _, offset, size = _elf_symbol(data, r"icudt\d+_dat")
    return [name for name, _ in read_icu_package(data[offset : offset + size])[1]]


# --- stripping --------------------------------------------------------------------------------------

def load_segments_aligned(path: Path) -> bool:
    """True if every PT_LOAD segment of an ELF64 file satisfies offset = address (mod alignment).

    The dynamic loader refuses a library that breaks this ("ELF load command address/offset not
    page-aligned"), which is what binutils' strip does to patchelf-modified libraries.
    """
    with path.open("rb") as f:
        head = f.read(64)
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, _, offset, vaddr, _, _, _, align = struct.unpack_from("<IIQQQQQQ", table, i * phentsize)
        if p_type == 1 and align > 1 and offset % align != vaddr % align:
            return False
    return True


def strip_copy(src: str, cache: Path) -> str:
    """Path of a stripped copy of ``src`` under ``cache``, or ``src`` itself if stripping saves nothing,
    breaks the loadable layout, or binutils is missing. Copies are reused while newer than ``src``."""
    if shutil.which("strip") is None:
        return src
    real = Path(src).resolve()
    out = cache / real.relative_to(real.anchor)
    if not out.exists() or out.stat().st_mtime < real.stat().st_mtime:
        out.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["strip", "--strip-unneeded", "-o", str(out), str(real)],
                              capture_output=True, check=False)
        useless = done.returncode != 0 or out.stat().st_size >= real.stat().st_size
        if useless or not load_segments_aligned(out):
            out.write_bytes(b"")  # remember the verdict: an empty file means "use the original"
    return str(out) if out.stat().st_size else src
