"""Architecture guards (STYLE.md): dependencies point one way, and app.core stays pure.

- The one-way chain, on the source of every module under ``app/`` (an ``ast`` scan of every import
  statement, so lazy imports inside functions and ``TYPE_CHECKING`` blocks count too):
  ``core`` <- ``capture``, ``transport`` <- ``session`` <- ``ui``, ``headless`` <- ``main``; ``backend``
  imports only ``core`` (and ``errors``); ``bench`` sits on top; ``errors`` imports nothing from
  ``app``. ``LAYERS`` lists what each part may import; every module must belong to one part.
- Importing ``app.core`` or any module in it, in a fresh interpreter, loads no Qt, audio-device,
  socket or Qt-event-loop library (checked in ``sys.modules``; a subprocess, because this pytest
  process has long since imported PySide6 through pytest-qt); importing every module of
  ``capture``, ``transport``, ``session`` and ``headless`` loads no Qt and no PortAudio binding
  (sounddevice is loaded only when a device is opened or listed).
- Only ``app/ui/`` and ``app/main.py`` import Qt (checked on the source).
- ``app/core`` is pure: no third-party package except the numeric ones, and of the standard library
  only modules that compute (``CORE_STDLIB``: no ``os``, ``io``, ``pathlib``, ``socket``,
  ``asyncio``, ``subprocess``, ``wave``...), no call of the builtins ``open``/``exec``/``eval``/
  ``__import__`` and no numpy file function (``load``, ``save``, ``fromfile``...). So core opens no
  sockets, devices or files by itself. Not covered: a file object or socket handed in by a caller,
  and what a C extension (numpy, soxr) does inside; both are reviewed, not scanned.
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
# The standard library modules app.core may import: computation only (no I/O, processes or threads).
CORE_STDLIB = frozenset({
    "__future__", "abc", "base64", "binascii", "bisect", "collections", "copy", "dataclasses", "datetime",
    "enum", "fractions", "functools", "heapq", "ipaddress", "itertools", "json", "math", "numbers",
    "operator", "random", "re", "statistics", "string", "struct", "time", "types", "typing", "urllib.parse",
})
CORE_FORBIDDEN_CALLS = frozenset({"open", "exec", "eval", "compile", "__import__"})  # builtins
NUMPY_FILE_FUNCTIONS = frozenset({  # called as attributes: np.load(...), array.tofile(...)
    "load", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt", "fromfile", "tofile",
    "memmap", "open",
})

# What each part of app/ may import from app (besides itself). "app" is the package root (__version__).
BELOW_UI = frozenset({"app", "app.core", "app.errors", "app.capture", "app.transport", "app.session",
                      "app.backend", "app.history", "app.logs", "app.fileio", "app.datadir"})
LAYERS: dict[str, frozenset[str]] = {
    "app": frozenset(),
    "app.errors": frozenset(),
    "app.logs": frozenset(),  # the log files and their redaction, for both front ends
    "app.fileio": frozenset(),  # whole-file writes that never leave a truncated file
    "app.datadir": frozenset(),  # where the history lives
    # the meeting history: sqlite3 and the standard library over core, no Qt, no sockets, no devices
    "app.history": frozenset({"app.core"}),
    "app.core": frozenset({"app.errors"}),
    "app.capture": frozenset({"app.core", "app.errors"}),
    "app.transport": frozenset({"app.core", "app.errors"}),
    "app.session": frozenset({"app.core", "app.errors", "app.capture", "app.transport"}),
    "app.backend": frozenset({"app.core", "app.errors"}),
    "app.ui": BELOW_UI,
    "app.headless": BELOW_UI,
    "app.main": BELOW_UI | {"app.ui", "app.headless"},
    "app.__main__": frozenset({"app.main"}),
    "app.bench": BELOW_UI | {"app.ui", "app.headless", "app.main"},
}
NO_QT_OR_PORTAUDIO = ("app.capture", "app.transport", "app.session", "app.headless", "app.history")

CORE_MODULES = ["app.core", *(f"app.core.{m.name}" for m in pkgutil.iter_modules([str(CORE)]))]

PROBE = """
import importlib, json, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(module: str) -> set[str]:
    """The full ``sys.modules`` after importing ``module`` (or several, comma-separated) in a fresh
    interpreter."""
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


# --------------------------------------------------------------------------- the one-way chain


def part_of(name: str) -> str:
    """The ``LAYERS`` key a module (or an imported name) belongs to: ``app.<part>`` or the root."""
    parts = name.split(".")
    if parts[0] != "app":
        return ""
    top = ".".join(parts[:2])
    return top if top in LAYERS else "app"


def test_every_module_belongs_to_a_part_of_the_chain() -> None:
    unknown = sorted(module_name(p) for p in app_sources() if part_of(module_name(p)) == "app"
                     and module_name(p) != "app")
    assert not unknown, f"add these to LAYERS in tests/test_boundaries.py (and the README layout): {unknown}"


def test_the_chain_has_no_cycle() -> None:
    for part, allowed in LAYERS.items():
        for other in allowed:
            assert part not in LAYERS.get(other, frozenset()), f"{part} and {other} may import each other"


def test_dependencies_point_one_way() -> None:
    offenders: dict[str, list[str]] = {}
    for path in app_sources():
        module = module_name(path)
        own = part_of(module)
        allowed = LAYERS[own] | {own}
        bad = sorted(name for name in imports_of(path)
                     if name.split(".")[0] == "app" and part_of(name) not in allowed)
        if bad:
            offenders[path.relative_to(ROOT).as_posix()] = bad
    assert not offenders, f"imports against the one-way chain (see LAYERS): {offenders}"


def test_the_chain_check_sees_an_upward_import() -> None:
    names = imported_names("from app.session import Session\n", "app.transport.connection")
    assert {part_of(n) for n in names} - LAYERS["app.transport"] - {"app.transport"} == {"app.session"}


@pytest.mark.parametrize("package", NO_QT_OR_PORTAUDIO)
def test_importing_capture_transport_session_headless_loads_no_qt_or_portaudio(package: str) -> None:
    root = APP / package.split(".")[1]
    modules = sorted(module_name(p) for p in root.rglob("*.py") if p.name != "__main__.py")
    loaded = loaded_modules(",".join(modules))
    forbidden = {"PySide6", "shiboken6", "qasync", "sounddevice", "_sounddevice"}
    assert not top_levels(loaded) & forbidden, f"{package} pulls in {sorted(top_levels(loaded) & forbidden)}"


# --------------------------------------------------------------------------- core opens nothing


def test_core_imports_only_computing_stdlib_modules() -> None:
    offenders = {}
    for path in sorted(CORE.rglob("*.py")):
        bad = sorted(
            name for name in imports_of(path)
            if name.split(".")[0] in sys.stdlib_module_names
            and not (name in CORE_STDLIB or any(name.startswith(f"{ok}.") for ok in CORE_STDLIB))
        )
        if bad:
            offenders[path.relative_to(ROOT).as_posix()] = bad
    assert not offenders, f"app.core may import only {sorted(CORE_STDLIB)} of the stdlib; found: {offenders}"


def file_or_code_calls(source: str) -> list[str]:
    """Calls in ``source`` that could open a file or run code: forbidden builtins, numpy file functions."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in CORE_FORBIDDEN_CALLS:
            found.append(f"{func.id}() line {node.lineno}")
        elif isinstance(func, ast.Attribute) and func.attr in NUMPY_FILE_FUNCTIONS:
            found.append(f".{func.attr}() line {node.lineno}")
    return found


def test_core_opens_no_files() -> None:
    offenders = {p.relative_to(ROOT).as_posix(): calls for p in sorted(CORE.rglob("*.py"))
                 if (calls := file_or_code_calls(p.read_text(encoding="utf-8")))}
    assert not offenders, f"app.core must not open files or run code: {offenders}"


def test_the_file_check_sees_open_and_numpy_load() -> None:
    assert len(file_or_code_calls("open('x')\nnp.load('y')\njson.loads('{}')\n")) == 2


def test_history_uses_only_the_standard_library_and_core() -> None:
    allowed = set(sys.stdlib_module_names) | {"app"}
    offenders = {}
    for path in sorted((APP / "history").rglob("*.py")):
        bad = sorted({name.split(".")[0] for name in imports_of(path)} - allowed)
        if bad:
            offenders[path.relative_to(ROOT).as_posix()] = bad
    assert not offenders, f"app.history imports only the standard library and app.core; found: {offenders}"
