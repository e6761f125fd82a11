"""The Linux bundle's slimming steps without a build: ICU data trimming (packaging/slimming.py),
selective stripping, and the AES-CBC stand-in for ``cryptography`` (packaging/shims/)."""

from __future__ import annotations

import ctypes
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from bundlekit import ROOT
from required_tools import require_tools

sys.path.insert(0, str(ROOT / "packaging"))
import PySide6
import slimming

QT_LIB = Path(PySide6.__file__).parent / "Qt" / "lib"
ICU_DATA = next(QT_LIB.glob("libicudata.so.*"))
SHIMS = ROOT / "packaging" / "shims"


@pytest.fixture
def binutils() -> None:
    require_tools("as", "ld", "strip", "nm", package="binutils")


def test_icu_package_round_trips_item_for_item() -> None:
    data = ICU_DATA.read_bytes()
    _, offset, size = slimming._elf_symbol(data, r"icudt\d+_dat")
    header, items = slimming.read_icu_package(data[offset : offset + size])
    assert len(items) > 3000 and items == sorted(items)
    again = slimming.read_icu_package(slimming.write_icu_package(header, items))
    assert again == (header, items)


@pytest.mark.parametrize(("name", "kept"), [
    ("icudt73l/coll/sv.res", True),  # QCollator (file dialog sorting) in every locale
    ("icudt73l/coll/ucadata.icu", True),
    ("icudt73l/zone/de.res", True),  # QTimeZone display names
    ("icudt73l/zoneinfo64.res", True),
    ("icudt73l/de.res", True),  # calendars for ucal_open
    ("icudt73l/root.res", True),
    ("icudt73l/cnvalias.icu", True),  # codec names still resolve; UTF-8/16/32 and Latin-1 are built in
    ("icudt73l/brkitr/word.brk", False),  # text breaking: Qt has its own
    ("icudt73l/curr/de.res", False),
    ("icudt73l/unit/fr.res", False),
    ("icudt73l/translit/root.res", False),
    ("icudt73l/ibm-943_P15A-2003.cnv", False),  # legacy codepage tables
    ("icudt73l/unames.icu", False),
])
def test_icu_policy(name: str, kept: bool) -> None:
    assert slimming.icu_item_kept(name) is kept


def test_app_uses_none_of_the_numpy_subpackages_the_bundle_leaves_out() -> None:
    """numpy imports these lazily, so the bundle would only fail when the code runs: catch it here."""
    names = "|".join(re.escape(m.removeprefix("numpy.")) for m in slimming.NUMPY_LEFT_OUT)
    pattern = re.compile(rf"\b(?:np|numpy)\.(?:{names})\b|from numpy import .*\b(?:{names})\b")
    bench = (ROOT / "app" / "bench", ROOT / "app" / "ui" / "bench_harness.py")  # not bundled
    uses = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        skip = path == bench[1] or bench[0] in path.parents
        lines = [] if skip else path.read_text(encoding="utf-8").splitlines()
        uses += [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for n, line in enumerate(lines, 1)
                 if pattern.search(line)]
    assert uses == [], "remove these from slimming.NUMPY_LEFT_OUT or from the app:\n" + "\n".join(uses)


@pytest.mark.usefixtures("binutils")
def test_qt_core_calls_only_the_icu_services_the_trimmed_data_serves() -> None:
    """The trees dropped from ICU's data belong to services libQt6Core never calls. A Qt upgrade that
    starts calling another ICU service (break iterators, number or date formatting, ...) fails here."""
    done = subprocess.run(["nm", "-D", "--undefined-only", str(QT_LIB / "libQt6Core.so.6")],
                          capture_output=True, text=True, check=True)
    symbols = (line.split()[-1] for line in done.stdout.splitlines())
    icu = {sym for sym in symbols if re.fullmatch(r"[uU]\w+_\d\d", sym)}  # ICU's versioned names
    assert icu, "libQt6Core no longer links ICU: the ICU trimming in the spec can go"
    allowed = ("ucol_", "ucal_", "u_strToUpper_", "u_strToLower_", "ucnv_", "UCNV_")
    assert sorted(s for s in icu if not s.startswith(allowed)) == []


@pytest.mark.usefixtures("binutils")
def test_trimmed_icu_library_holds_only_kept_items_and_strips_and_loads(tmp_path: Path) -> None:
    out = tmp_path / "icu" / ICU_DATA.name
    kept, dropped = slimming.build_icu_data(ICU_DATA, out)
    names = slimming.icu_data_items(out)
    assert len(names) == kept and dropped > 1000
    assert all(slimming.icu_item_kept(n) for n in names)
    assert out.stat().st_size < ICU_DATA.stat().st_size * 0.45
    soname = subprocess.run(["objdump", "-p", str(out)], capture_output=True, text=True, check=True).stdout
    assert f"SONAME               {ICU_DATA.name}" in soname
    # The rebuilt library has a symbol table to strip, and stays loadable after stripping.
    stripped = Path(slimming.strip_copy(str(out), tmp_path / "stripped"))
    assert stripped != out and stripped.stat().st_size < out.stat().st_size
    assert slimming.load_segments_aligned(stripped)
    symbol = slimming._elf_symbol(out.read_bytes(), r"icudt\d+_dat")[0]
    head = bytes((ctypes.c_uint8 * 4).in_dll(ctypes.CDLL(str(stripped)), symbol))
    assert head[2:] == b"\xda\x27"  # an ICU data header's magic


@pytest.mark.usefixtures("binutils")
def test_strip_copy_keeps_the_original_when_strip_would_break_the_library(tmp_path: Path) -> None:
    import numpy

    openblas = next((Path(numpy.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas*.so"))
    assert slimming.load_segments_aligned(openblas)
    broken = tmp_path / "broken.so"
    subprocess.run(["strip", "--strip-unneeded", "-o", str(broken), str(openblas)], check=True)
    assert not slimming.load_segments_aligned(broken)  # what the dynamic loader refuses
    assert slimming.strip_copy(str(openblas), tmp_path / "cache") == str(openblas)
    assert slimming.strip_copy(str(openblas), tmp_path / "cache") == str(openblas)  # the cached verdict


# AES-CBC vectors: NIST SP 800-38A F.2.1, F.2.3, F.2.5 (first two blocks).
NIST_IV = "000102030405060708090a0b0c0d0e0f"
NIST_PLAIN = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
NIST = [
    ("2b7e151628aed2a6abf7158809cf4f3c", "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"),
    ("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
     "4f021db243bc633d7178183a9fa071e8b4d9ada9ad7dedf4e5e738763f69145a"),
    ("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
     "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"),
]
SHIM_CASES = r"""
import json, sys

def partial_block():
    ctx = Cipher(algorithms.AES(bytes(16)), modes.CBC(bytes(16))).encryptor()
    ctx.update(b"abc")
    ctx.finalize()

sys.path.insert(0, sys.argv[1])
import cryptography
from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
out = {"version": cryptography.__version__, "cases": []}
for key, iv, plain in json.loads(sys.argv[2]):
    key, iv, plain = bytes.fromhex(key), bytes.fromhex(iv), bytes.fromhex(plain)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv), default_backend()).encryptor()
    ct = enc.update(plain[:7]) + enc.update(plain[7:]) + enc.finalize()
    dec = Cipher(algorithms.AES(key), modes.CBC(iv), default_backend()).decryptor()
    out["cases"].append([ct.hex(), (dec.update(ct) + dec.finalize()).hex()])
errors = []
for bad in (lambda: algorithms.AES(bytes(15)), lambda: modes.CBC(bytes(8)), lambda: partial_block()):
    try:
        bad()
        errors.append("accepted")
    except ValueError:
        errors.append("ValueError")
out["errors"] = errors
print(json.dumps(out))
"""


def test_aes_cbc_stand_in_matches_the_real_cryptography_package() -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    cases = [(key, NIST_IV, NIST_PLAIN) for key, _ in NIST]
    cases += [(os.urandom(n).hex(), os.urandom(16).hex(), os.urandom(16 * blocks).hex())
              for n in (16, 24, 32) for blocks in (1, 3, 8)]
    done = subprocess.run([sys.executable, "-c", SHIM_CASES, str(SHIMS), json.dumps(cases)],
                          capture_output=True, text=True, check=True)
    shim = json.loads(done.stdout)
    assert "echopanel" in shim["version"]  # the stand-in, not the real package, was imported
    for (key, iv, plain), (ct, back) in zip(cases, shim["cases"], strict=True):
        enc = Cipher(algorithms.AES(bytes.fromhex(key)), modes.CBC(bytes.fromhex(iv))).encryptor()
        assert ct == (enc.update(bytes.fromhex(plain)) + enc.finalize()).hex()
        assert back == plain
    assert [ct for ct, _ in shim["cases"][:3]] == [expected for _, expected in NIST]
    # A bad key size, a bad IV size and a partial last block: ValueError, as with the real package.
    assert shim["errors"] == ["ValueError"] * 3
