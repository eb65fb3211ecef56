"""Recipes that only run on other systems (Windows, macOS, GitHub's runners): checked for what
can be checked here — they parse, declare the streamr:// handler, and name files that exist."""

import plistlib
import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
WORKFLOWS = ROOT / ".github" / "workflows"


def test_macos_info_plist_declares_the_streamr_url_scheme_and_a_menu_bar_app():
    info = plistlib.loads((PACKAGING / "macos" / "Info.plist").read_bytes())
    schemes = [s for t in info["CFBundleURLTypes"] for s in t["CFBundleURLSchemes"]]
    assert schemes == ["streamr"]
    assert info["LSUIElement"] is True
    assert info["CFBundleExecutable"] == "streamr-node"


def test_inno_setup_script_registers_the_handler_autostart_and_uninstall():
    iss = (PACKAGING / "windows" / "streamrp2p.iss").read_text()
    sections = set(re.findall(r"^\[(\w+)\]$", iss, flags=re.M))
    assert {"Setup", "Tasks", "Files", "Icons", "Registry", "UninstallRun"} <= sections
    assert r'Subkey: "Software\Classes\streamr\shell\open\command"' in iss
    assert '--invite ""%1""' in iss
    assert 'ValueName: "URL Protocol"' in iss
    assert re.search(r"CurrentVersion\\Run.*Tasks: autostart", iss)
    # The app's own "start at login" setting writes the same Run value.
    from desktop_app.ui.autostart import RUN_VALUE

    assert f'#define AppName "{RUN_VALUE}"' in iss
    assert 'Source: "{#Root}\\dist\\streamr-node\\*"' in iss


def test_workflows_run_on_the_right_hosted_runners_and_name_existing_files():
    expected = {
        "build-linux.yml": "ubuntu",
        "build-windows.yml": "windows",
        "build-macos.yml": "macos",
    }
    for name, runner in expected.items():
        flow = yaml.safe_load((WORKFLOWS / name).read_text())
        [job] = flow["jobs"].values()
        assert job["runs-on"].startswith(runner), name
        for step in job["steps"]:
            for word in shlex.split(step.get("run", "").replace("\\", "/"), posix=True):
                if word.startswith("packaging/"):
                    assert (ROOT / word).exists(), f"{name}: {word}"
