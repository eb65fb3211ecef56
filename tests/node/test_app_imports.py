"""What `streamr-node` loads besides the node: not httpx's command line client (issue 17)."""

import importlib.util
import subprocess
import sys

import pytest

CLI_ONLY = ("rich", "pygments", "click")  # what httpx/_main.py imports


@pytest.mark.skipif(
    importlib.util.find_spec("rich") is None, reason="httpx's CLI dependencies not installed"
)
def test_the_node_never_loads_httpx_command_line_client() -> None:
    code = (
        "import sys, contextlib\n"
        "from desktop_app.app import main\n"
        "with contextlib.suppress(SystemExit):\n"
        "    main(['--version'])\n"
        "import desktop_app.core.node, httpx\n"
        f"print(','.join(m for m in {CLI_ONLY!r} if m in sys.modules))\n"
        "httpx.main()\n"  # the stand-in says what to install, and exits 1
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    version, loaded, *said = out.stdout.splitlines()
    assert version.startswith("streamr-node ")
    assert loaded == ""
    assert "pip install 'httpx[cli]'" in said[-1]
    assert out.returncode == 1
