"""What the Linux bundle's slimming must not cost: every app module still imports from the bundle,
Qt still collates, changes case and names time zones as with ICU's full data, and the access token
still reaches the OS keyring (GNOME Keyring) through the bundled Secret Service backend and its
AES-CBC stand-in for ``cryptography``.

The code runs against exactly the bundle's modules and libraries (bundlekit.bundle_modules), since the
frozen executable itself only runs the app.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bundlekit import BUILD_TIMEOUT_SECONDS, ROOT, bundle_modules, clean_env, run_with_bundle_modules
from required_tools import require_tools

pytestmark = [pytest.mark.slow, pytest.mark.timeout(BUILD_TIMEOUT_SECONDS + 180)]

SHIMS = ROOT / "packaging" / "shims"
# Qt's uses of ICU: collation (QCollator, e.g. sorting in the file dialog), locale-specific casing,
# time zone names. Printed as JSON by the bundle and by the dev venv (full ICU data) for comparison.
QT_ICU_PROBE = r"""
import functools, json
from PySide6.QtCore import QCollator, QLocale, QTimeZone
words = ["zebra", "Äpfel", "apple", "Öl", "ole", "Åland", "ärger", "Zürich", "côte", "cote", "ch", "ı", "i"]
out = {}
for loc in ("en_US", "sv_SE", "de_DE", "cs_CZ", "tr_TR", "ja_JP"):
    collator = QCollator(QLocale(loc))
    out["sort " + loc] = sorted(words, key=functools.cmp_to_key(collator.compare))
    collator.setNumericMode(True)
    out["numeric " + loc] = sorted(["a10", "a9", "a100"], key=functools.cmp_to_key(collator.compare))
    out["case " + loc] = [QLocale(loc).toUpper("iı straße"), QLocale(loc).toLower("IİI ΣΑΣ")]
zone = QTimeZone(b"Europe/Berlin")
for loc in ("en_US", "de_DE", "fr_FR", "ja_JP"):
    out["zone " + loc] = [zone.displayName(t, n, QLocale(loc))
                          for t in (QTimeZone.TimeType.StandardTime, QTimeZone.TimeType.DaylightTime)
                          for n in (QTimeZone.NameType.LongName, QTimeZone.NameType.ShortName)]
print(json.dumps(out, ensure_ascii=False, sort_keys=True))
"""
# Stores the token the way the desktop app does (TokenStore with keyring's default backend), reads it
# back, and reports whether the D-Bus session with the keyring was the encrypted one.
STORE_TOKEN = r"""
import json, os
from contextlib import closing
import cryptography, keyring, secretstorage
from app.ui.secrets import TokenStore
store = TokenStore()
store.set(os.environ["TOKEN"])
with closing(secretstorage.dbus_init()) as bus:
    encrypted = secretstorage.util.open_session(bus).encrypted
print(json.dumps({"persistent": store.persistent, "backend": type(keyring.get_keyring()).__module__,
                  "read_back": TokenStore().get(), "encrypted": encrypted,
                  "cryptography": cryptography.__version__}))
"""
READ_WITH_REAL_CRYPTOGRAPHY = r"""
import cryptography, keyring
from app.ui.secrets import SERVICE, USERNAME
assert "echopanel" not in cryptography.__version__
print(keyring.get_password(SERVICE, USERNAME))
"""


@pytest.fixture(scope="module")
def modules(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle_modules(bundle_dir, tmp_path_factory.mktemp("bundle-modules"))


def test_every_app_module_and_the_numpy_it_uses_import_from_the_bundle(modules: Path, tmp_path: Path) -> None:
    code = r"""
import importlib, json, pkgutil
import app, numpy as np
names = [m.name for m in pkgutil.walk_packages(app.__path__, "app.") if not m.name.endswith("__main__")]
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed[name] = repr(exc)
spectrum = np.fft.irfft(np.fft.rfft(np.arange(8.0)), 8)
solved = np.linalg.solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([2.0, 8.0]))
try:
    import numpy.random
    random = "bundled"
except ImportError:
    random = "left out"
print(json.dumps({"modules": len(names), "failed": failed, "fft": spectrum.round(9).tolist(),
                  "linalg": solved.tolist(), "random": random, "numpy": np.__file__}))
"""
    done = run_with_bundle_modules(modules, code, clean_env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["numpy"].startswith(str(modules)), result["numpy"]
    assert result["modules"] > 50 and result["failed"] == {}
    assert result["fft"] == [float(i) for i in range(8)] and result["linalg"] == [1.0, 2.0]
    assert result["random"] == "left out"  # the spec's numpy exclusions took effect


def test_bundled_qt_collates_and_names_time_zones_as_with_full_icu_data(
    modules: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    env = clean_env(tmp_path)
    bundled = run_with_bundle_modules(modules, QT_ICU_PROBE, env)
    assert bundled.returncode == 0, bundled.stderr[-3000:]
    full = subprocess.run([sys.executable, "-c", QT_ICU_PROBE], env=env, capture_output=True, text=True,
                          check=True)
    assert json.loads(bundled.stdout) == json.loads(full.stdout)
    assert "Mitteleuropäische" in bundled.stdout  # localized names came through, not GMT offsets
    icu = next((bundle_dir / "_internal" / "PySide6" / "Qt" / "lib").glob("libicudata.so.*"))
    assert icu.stat().st_size < 15 * 2**20, "the ICU data library is not the trimmed one"


def test_token_reaches_the_os_keyring_through_the_bundled_secret_service_backend(
    modules: Path, tmp_path: Path
) -> None:
    require_tools("gnome-keyring-daemon", "dbus-run-session", package="gnome-keyring and dbus-daemon")
    # A private session bus with GNOME Keyring on it, its login keyring created and unlocked. Both
    # end when dbus-run-session's command does.
    env = clean_env(tmp_path)
    session = tmp_path / "session.sh"
    session.write_text(
        'printf test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 90\n'
        '"$@" > "$STORED" || exit 91\n'
        'exec "$PYTHON" -I -c "$READ"\n'
    )
    token = "tok-5f1e9b2c-\u00e9-only-in-the-keyring"
    stored = tmp_path / "stored.json"
    env.update(TOKEN=token, STORED=str(stored), PYTHON=sys.executable, READ=READ_WITH_REAL_CRYPTOGRAPHY)
    done = run_with_bundle_modules(modules, STORE_TOKEN, env, timeout=90,
                                   prefix=("dbus-run-session", "--", "bash", str(session)))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(stored.read_text())
    assert result["backend"] == "keyring.backends.SecretService"
    assert result["persistent"] and result["read_back"] == token
    assert result["encrypted"], "the token crossed D-Bus in a plain session"
    assert "echopanel" in result["cryptography"]  # the bundle's stand-in did the AES
    # The real cryptography package (dev venv) reads what the bundle stored: same encryption on the wire.
    assert done.stdout.strip().splitlines()[-1] == token


def test_bundle_carries_only_the_cryptography_stand_in(frozen_exe: Path, bundle_dir: Path) -> None:
    from PyInstaller.archive.readers import CArchiveReader  # type: ignore[import-untyped]

    pyz = CArchiveReader(str(frozen_exe)).open_embedded_archive("PYZ.pyz")
    bundled = {name for name in pyz.toc if name.split(".")[0] == "cryptography"}
    shim = {".".join(p.relative_to(SHIMS).with_suffix("").parts).removesuffix(".__init__")
            for p in SHIMS.rglob("*.py")}
    assert bundled == shim
    assert not list((bundle_dir / "_internal").glob("cryptography*"))  # no Rust extension, no metadata

    def imported_names(code: object) -> set[str]:
        names = set(getattr(code, "co_names", ()))
        for const in getattr(code, "co_consts", ()):
            if hasattr(const, "co_names"):
                names |= imported_names(const)
        return names

    importers = {name for name in pyz.toc if name not in bundled and pyz.toc[name][0] != 3
                 and any(n.startswith("cryptography") for n in imported_names(pyz.extract(name)))}
    # Only SecretStorage may use the stand-in: anything else would need more than AES-CBC.
    assert importers and all(name.startswith("secretstorage") for name in importers), sorted(importers)
