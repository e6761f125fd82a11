"""The frozen Linux bundle for the packaging tests, built at most once per source state.

The bundle is built with packaging/bundle.sh into build/bundle-smoke/ (git-ignored) and reused while a
hash of everything that goes into it is unchanged: app/, resources/, the spec, packaging/rthooks/,
packaging/linux/, packaging/bundle.sh, pyproject.toml and the versions of Python, PyInstaller, PySide6,
pocketsphinx and numpy. A build takes about a minute on two cores; a reused one costs nothing.
"""

from __future__ import annotations

import hashlib
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
    trees = (ROOT / "app", ROOT / "resources", packaging / "rthooks", packaging / "linux")
    for top in trees:
        for path in sorted(top.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path
    yield from sorted(packaging.glob("*.spec"))
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
