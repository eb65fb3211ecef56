"""Qt is imported in one place; the helpers the README calls Qt-free stay so."""

import ast
import subprocess
import sys
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "desktop_app" / "ui"
QT_FREE = (
    "logs",
    "autostart",
    "settings",
    "history",
    "formatting",
    "node_settings",
    "errors",
    "words",
    "headline",
    "limits",
)
NETWORK = ("socket", "httpx", "aiohttp", "miniupnpc", "urllib.request")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_qt_py_imports_pyside6_or_qasync() -> None:
    offenders = [
        path.relative_to(UI).as_posix()
        for path in UI.rglob("*.py")
        if path.name != "qt.py"
        and any(n.split(".")[0] in ("PySide6", "qasync") for n in imported_modules(path))
    ]
    assert offenders == []


def test_qt_free_helpers_load_without_qt() -> None:
    modules = ", ".join(f"desktop_app.ui.{name}" for name in QT_FREE)
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if 'PySide6' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_ui_does_no_network_work_itself() -> None:
    """Sockets, HTTP and UPnP belong to the node core; widgets only call it."""
    offenders = [
        path.relative_to(UI).as_posix()
        for path in UI.rglob("*.py")
        if any(n.split(".")[0] in NETWORK or n in NETWORK for n in imported_modules(path))
    ]
    assert offenders == []
