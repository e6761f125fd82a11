"""Keeps PySide6's import hook from holding the source of every module in memory.

PySide6 installs an import hook (``shibokensupport.feature``, for ``from __feature__ import ...``)
that asks, of every module imported after PySide6 and once of every module imported before it,
whether its source mentions "PySide6". It asks through ``inspect.getsource``, which goes through
``linecache``, which keeps every line it read for the rest of the run: about 15 MB of strings in
this app (numpy, asyncio, websockets, the app itself...), a tenth of the window's memory, for
nothing (a traceback reads the lines again when it needs them).

``stop_caching_sources()`` gives the hook the same answer from the file's bytes, read and dropped,
and empties what the hook cached already. Called once, before the window's modules are imported
(``app.main``): lines cached and then dropped would leave their memory fragmented rather than given
back. Should a PySide6 release rename what is replaced here, only the emptying is done.
"""

from __future__ import annotations

import linecache
import sys
from collections.abc import Callable
from types import ModuleType

MARKER = b"PySide6"  # what the hook looks for in a module's source


def stop_caching_sources() -> bool:
    """Install PySide6's hook, replace its source check (True if it was found), empty ``linecache``."""
    import PySide6  # noqa: F401  (installs the hook: shibokensupport.feature)

    feature = sys.modules.get("shibokensupport.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    replaced = False
    if feature is not None and callable(original) and not getattr(original, "reads_bytes", False):
        feature._mod_uses_pyside = uses_pyside_checker(original)  # type: ignore[attr-defined]
        replaced = True
    linecache.clearcache()
    return replaced


def uses_pyside_checker(original: Callable[[ModuleType], bool]) -> Callable[[ModuleType], bool]:
    """The hook's question (does the module's source mention PySide6?) answered from the file's
    bytes; modules without a ``.py`` file get the original answer."""

    def uses_pyside(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return original(module)
        try:
            with open(path, "rb") as source:
                return MARKER in source.read()
        except OSError:
            return original(module)

    uses_pyside.reads_bytes = True  # type: ignore[attr-defined]
    return uses_pyside
