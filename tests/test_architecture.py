"""Guards on the architecture: the node core never loads Qt or server-only packages."""

import subprocess
import sys


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
