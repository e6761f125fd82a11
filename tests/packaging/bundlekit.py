"""The frozen Linux bundle for the packaging tests, built at most once per source state.

The bundle is built with packaging/bundle.sh into build/bundle-smoke/ (git-ignored) and reused while a
hash of everything that goes into it is unchanged: app/, resources/, the spec, packaging/slimming.py,
packaging/{rthooks,linux,shims,hooks}/, packaging/bundle.sh, pyproject.toml and the versions of Python,
PyInstaller, PySide6, pocketsphinx and numpy. A build takes about a minute on two cores; a reused one
costs nothing.

``bundle_modules`` + ``run_with_bundle_modules`` run test code against exactly the bundle's Python
modules and libraries, which the frozen executable cannot do (it only runs the app).
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "build" / "bundle-smoke"
NAME = "echopanel-companion"
BUILD_TIMEOUT_SECONDS = 900


def _inputs() -> Iterator[Path]:
    packaging = ROOT / "packaging"
    subdirs = ("rthooks", "linux", "shims", "hooks")
    trees = (ROOT / "app", ROOT / "resources", *(packaging / d for d in subdirs))
    for top in trees:
        for path in sorted(top.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path
    yield from sorted(packaging.glob("*.spec"))
    yield packaging / "slimming.py"
    yield packaging / "bundle.sh"
    yield ROOT / "pyproject.toml"


def source_hash() -> str:
    """Hash of every input of the bundle (paths + contents) and of the toolchain versions."""
    digest = hashlib.sha256()
    digest.update(sys.version.encode())
    for dist in ("pyinstaller", "pyside6-essentials", "pocketsphinx", "numpy"):
        digest.update(f"{dist}={metadata.version(dist)}".encode())
    for path in _inputs():
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: no venv on PATH, no PYTHON* variables, a private HOME and runtime dir,
    offscreen Qt. What a double-click on a machine without Python would see, minus the display."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
    }
    env.update(extra)
    return env


def built_bundle() -> Path:
    """dist folder of the frozen app for the current sources, building it first if needed."""
    dist = BUILD_DIR / "dist"
    bundle = dist / NAME
    stamp = BUILD_DIR / "source-hash"
    wanted = source_hash()
    if stamp.is_file() and stamp.read_text() == wanted and (bundle / NAME).is_file():
        return bundle
    stamp.unlink(missing_ok=True)
    log = BUILD_DIR / "bundle.log"
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(
            ["bash", str(ROOT / "packaging" / "bundle.sh"), "--no-tar",
             "--dist", str(dist), "--work", str(BUILD_DIR / "work")],
            stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT_SECONDS, check=False,
            env={**os.environ, "PYTHON": sys.executable},
        )
    text = log.read_text(errors="replace")
    assert done.returncode == 0, f"bundle build failed (exit {done.returncode}):\n{text[-4000:]}"
    # The build time goes to the test log (pytest -rA / -s shows it); it is reported, not asserted.
    print(f"bundle built in {time.monotonic() - started:.0f} s")
    stamp.write_text(wanted)
    return bundle


def bundle_modules(bundle: Path, dest: Path) -> Path:
    """``dest`` laid out like the running frozen app's module search path: the bundle's ``_internal/``
    mirrored with symlinks, plus every module of its PYZ archive as a sourceless ``.pyc`` next to the
    extension modules of the same package (as PyInstaller's importer sees them)."""
    from PyInstaller.archive.readers import CArchiveReader  # type: ignore[import-untyped]
    from PyInstaller.loader.pyimod01_archive import PYZ_ITEM_NSPKG, PYZ_ITEM_PKG  # type: ignore[import-untyped]

    internal = bundle / "_internal"
    for src in sorted(internal.rglob("*")):
        target = dest / src.relative_to(internal)
        if src.is_dir() and not src.is_symlink():
            target.mkdir(parents=True, exist_ok=True)
        elif src.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(src.resolve())
    archive = CArchiveReader(str(bundle / NAME))
    header = importlib.util.MAGIC_NUMBER + bytes(12)  # flags 0 (timestamp-based), mtime 0, size 0
    for name, entry in archive.toc.items():  # modules the bootloader needs before the PYZ (struct)
        if entry[-1] == "m" and not name.startswith("pyi"):
            (dest / f"{name}.pyc").write_bytes(header + archive.extract(name))
    pyz = archive.open_embedded_archive("PYZ.pyz")
    for name, (typecode, _, _) in pyz.toc.items():
        parts = name.split(".")
        if typecode == PYZ_ITEM_NSPKG:
            dest.joinpath(*parts).mkdir(parents=True, exist_ok=True)
            continue
        path = dest.joinpath(*parts, "__init__.pyc") if typecode == PYZ_ITEM_PKG else \
            dest.joinpath(*parts[:-1], parts[-1] + ".pyc")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(header + marshal.dumps(pyz.extract(name)))
    return dest


def run_with_bundle_modules(
    modules: Path, code: str, env: dict[str, str], timeout: float = 60, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in this interpreter (the one the bundle was built with) importing only from
    ``modules`` (see ``bundle_modules``): no site-packages, the bundle's libraries first. ``prefix``
    is a command that runs the rest of the command line (e.g. ``dbus-run-session --``)."""
    dynload = modules / f"python{sys.version_info.major}.{sys.version_info.minor}" / "lib-dynload"
    search = [str(modules), str(modules / "base_library.zip"), str(dynload)]
    boot = f"import sys; sys.path[:] = {search!r}; sys.argv = ['probe']\n"
    # The bundle's libraries first, as the frozen app's bootloader does; for this process only, not for
    # whatever ``prefix`` starts around it.
    python = ["env", f"LD_LIBRARY_PATH={modules}", sys.executable, "-I", "-S", "-c", boot + code]
    return subprocess.run([*prefix, *python], env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
