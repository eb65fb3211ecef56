"""Guards on the architecture: the node core never loads Qt or server-only packages, and imports
run one way (protocol <- node core <- tray; protocol <- coordinator features <- api/cli)."""

import ast
import subprocess
import sys
from pathlib import Path


def test_node_core_imports_without_qt_or_server_packages() -> None:
    code = (
        "import sys, pkgutil, importlib, desktop_app.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'desktop_app.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "import streamr_protocol\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'qasync', 'fastapi', 'sqlalchemy', 'coordinator_service')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --- one-way imports: protocol <- node core <- tray; protocol <- features <- api/cli ---

ROOT = Path(__file__).resolve().parent.parent
ASSEMBLY = ("coordinator_service.api", "coordinator_service.cli")
# they start the CLI: `python -m coordinator_service` and the `streamr-coordinator` script
ENTRY = ("coordinator_service.__main__", "coordinator_service.entry")
CHEAT = ("coordinator_service.demo.cheat",)


def _imports(text: str, package: str) -> set[str]:
    """Every module a file of `package` imports (relative imports resolved)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _module_imports(path: Path) -> set[str]:
    package = ".".join(path.relative_to(ROOT).parts[:-1])
    return _imports(path.read_text(), package)


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _violations(folder: str, forbidden: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        if not _under(".".join(path.relative_to(ROOT).with_suffix("").parts), skip)
        for name in sorted(_module_imports(path))
        if _under(name, forbidden)
    ]


def test_one_way_imports() -> None:
    bad = _violations("streamr_protocol", ("desktop_app", "coordinator_service"))
    bad += _violations("desktop_app/core", ("desktop_app.ui", "coordinator_service", "PySide6"))
    # the demo's cheating node is a patched node run as a process of its own: the one exception
    bad += _violations("coordinator_service", ("desktop_app",), skip=CHEAT)
    # every feature (anything but the assembly points) stays below api/ and cli.py
    bad += _violations("coordinator_service", ASSEMBLY, skip=ASSEMBLY + ENTRY)
    assert not bad, "\n".join(bad)


def test_the_rule_sees_a_violation() -> None:
    """The checker itself: a feature importing the API or the CLI, even relatively, is caught."""
    ledger = "coordinator_service.ledger"
    assert _under("coordinator_service.api.state", ASSEMBLY)
    assert "coordinator_service.cli" in _imports("from ..cli import main\n", ledger)
    assert "coordinator_service.cli_common" in _imports("from .. import cli_common\n", ledger)
    assert not _under("coordinator_service.cli_common", ASSEMBLY)
