"""PySide6's import hook must not keep the source of every imported module (linecache) for the run."""

from __future__ import annotations

import importlib
import linecache
import sys

from app.ui.pyside_sources import stop_caching_sources


def _import_fresh(tmp_path, monkeypatch, name: str, text: str):
    (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        return __import__(name)  # the import statement's way: through PySide6's hook
    finally:
        sys.modules.pop(name, None)


def test_modules_imported_after_pyside_leave_no_source_lines_behind(tmp_path, monkeypatch):
    import PySide6.QtCore  # noqa: F401  the hook exists from here on

    stop_caching_sources()
    assert not linecache.cache  # what the hook had cached is gone
    many = "".join(f"value_{i} = {i}\n" for i in range(2000))
    _import_fresh(tmp_path, monkeypatch, "ep_uses_qt", "# uses PySide6\n" + many)
    _import_fresh(tmp_path, monkeypatch, "ep_plain", many)
    assert not any(name.endswith(("ep_uses_qt.py", "ep_plain.py")) for name in linecache.cache)
    feature = sys.modules.get("shibokensupport.feature")
    if feature is not None:  # the hook still tells the two apart, as before
        assert feature.pyside_feature_dict.get("ep_uses_qt") == 0
        assert feature.pyside_feature_dict.get("ep_plain") == -1


def test_calling_it_twice_keeps_one_replacement():
    import PySide6.QtCore  # noqa: F401

    stop_caching_sources()
    feature = sys.modules.get("shibokensupport.feature")
    before = getattr(feature, "_mod_uses_pyside", None)
    assert stop_caching_sources() is False
    assert getattr(feature, "_mod_uses_pyside", None) is before
