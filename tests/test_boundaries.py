"""Architecture guards (STYLE.md): dependencies point one way, and app.core stays pure.

- Importing ``app.core`` or any module in it, in a fresh interpreter, loads no Qt, audio-device,
  socket or Qt-event-loop library (checked in ``sys.modules``; a subprocess, because this pytest
  process has long since imported PySide6 through pytest-qt).
- Only ``app/ui/`` and ``app/main.py`` import Qt (checked on the source, so lazy imports inside
  functions count too).
- ``app/core`` imports nothing from ``app`` except ``app.core`` and ``app.errors``, and no third-party
  package except the numeric ones.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
CORE = APP / "core"

FORBIDDEN_IN_CORE_RUNTIME = frozenset(
    {"PySide6", "shiboken6", "sounddevice", "_sounddevice", "websockets", "qasync"}
)
QT_PACKAGES = frozenset({"PySide6", "shiboken6", "qasync"})  # qasync is Qt's asyncio loop: Qt-bound too
QT_ALLOWED = ("app/ui/", "app/main.py")
# Third-party packages app.core may use: pure computation, no devices, sockets or GUI.
# soxr is the resampler behind app/core/framing.py (STYLE says "stdlib + numpy"; soxr is numeric only).
CORE_THIRD_PARTY = frozenset({"numpy", "soxr"})

CORE_MODULES = ["app.core", *(f"app.core.{m.name}" for m in pkgutil.iter_modules([str(CORE)]))]

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(module: str) -> set[str]:
    """The full ``sys.modules`` after importing ``module`` in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONSTARTUP", "PYTHONPATH")}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, module], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert proc.returncode == 0, f"importing {module} failed:\n{proc.stderr}"
    names: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return set(names)


def top_levels(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_core_modules_were_found() -> None:
    assert {"app.core.protocol", "app.core.messages", "app.core.settings"} <= set(CORE_MODULES)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_importing_core_loads_no_qt_audio_or_network(module: str) -> None:
    loaded = loaded_modules(module)
    assert module in loaded
    assert not top_levels(loaded) & FORBIDDEN_IN_CORE_RUNTIME, (
        f"{module} pulls in {sorted(top_levels(loaded) & FORBIDDEN_IN_CORE_RUNTIME)}: app.core must stay pure"
    )


def test_probe_sees_a_forbidden_import() -> None:
    # The guard above must be able to fail: the probe reports what a real import drags in.
    assert "websockets" in top_levels(loaded_modules("websockets.asyncio.client"))


# --------------------------------------------------------------------------- source checks


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module an import statement anywhere in ``source`` names (relative imports resolved;
    ``from pkg import name`` also yields ``pkg.name``, since name may be a submodule)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*base_parts, node.module] if node.module else base_parts)
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def imports_of(path: Path) -> set[str]:
    return imported_names(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def app_sources() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "__pycache__" not in p.parts)


def test_import_scanner_sees_lazy_relative_and_from_imports() -> None:
    source = (
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from app.session import Session\n"
        "def f():\n    import PySide6.QtCore\n"
        "from . import protocol\n"
        "from ..transport import connect\n"
        "from app import capture\n"
    )
    assert imported_names(source, "app.core.example") >= {
        "os", "app.session", "PySide6.QtCore", "app.core.protocol", "app.transport.connect", "app.capture",
    }
    assert "app.core.x" in imported_names("from . import x\n", "app.core", is_package=True)


def test_only_ui_and_main_import_qt() -> None:
    offenders = {}
    for path in app_sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(QT_ALLOWED):
            continue
        qt = sorted(name for name in imports_of(path) if name.split(".")[0] in QT_PACKAGES)
        if qt:
            offenders[rel] = qt
    assert not offenders, f"only {QT_ALLOWED} may import Qt; found: {offenders}"


def test_core_depends_only_on_core_and_errors() -> None:
    offenders = {}
    for path in sorted(CORE.rglob("*.py")):
        bad = sorted(
            name for name in imports_of(path)
            if name.split(".")[0] == "app"
            and name != "app"  # "from app import errors" also names the package itself
            and not (name in ("app.core", "app.errors") or name.startswith(("app.core.", "app.errors.")))
        )
        if bad:
            offenders[path.relative_to(ROOT).as_posix()] = bad
    assert not offenders, f"app.core may import only app.core and app.errors; found: {offenders}"


def test_core_uses_only_stdlib_and_numeric_packages() -> None:
    allowed = set(sys.stdlib_module_names) | CORE_THIRD_PARTY | {"app"}
    offenders = {}
    for path in sorted(CORE.rglob("*.py")):
        bad = sorted({name.split(".")[0] for name in imports_of(path)} - allowed)
        if bad:
            offenders[path.relative_to(ROOT).as_posix()] = bad
    assert not offenders, f"app.core is pure (stdlib + {sorted(CORE_THIRD_PARTY)}); found: {offenders}"
