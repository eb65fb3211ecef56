"""Importing after Qt keeps no module source in memory (issue 17: the tray's idle RSS)."""

import linecache
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import desktop_app.ui.qt  # noqa: F401  (PySide6 loaded: its import hook is active)

MODULES = {"plain_module_17": "VALUE = 1\n", "qt_module_17": "import PySide6  # Qt user\n"}


@pytest.fixture
def fresh_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name, text in MODULES.items():
        (tmp_path / f"{name}.py").write_text(text)
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in MODULES:
        sys.modules.pop(name, None)


def test_a_module_imported_after_qt_leaves_no_source_in_linecache(fresh_modules: Path) -> None:
    for name in MODULES:
        __import__(name)  # through builtins.__import__, as an import statement goes

    kept = {str(fresh_modules / f"{name}.py") for name in MODULES} & set(linecache.cache)
    assert not kept


def test_pyside_still_tells_qt_users_from_other_modules(fresh_modules: Path) -> None:
    for name in MODULES:
        __import__(name)

    seen = sys.modules["shibokensupport.feature"].pyside_feature_dict
    assert seen["qt_module_17"] == 0  # may use `from __feature__ import ...`
    assert seen["plain_module_17"] == -1  # ignored by PySide6's feature switching
