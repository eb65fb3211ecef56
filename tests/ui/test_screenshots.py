"""The real app under Xvfb with a tray (trayer): what a friend sees, saved as screenshots."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.coordinator import run_coordinator
from tests.fixtures.net import free_port
from tests.fixtures.origin import origin_process
from tests.ui.xvfb import app_env, have_xvfb, xvfb_with_tray

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not have_xvfb(), reason="needs Xvfb and trayer (scripts/test installs them)"
    ),
]
SCHEMED = (
    "wizard-1-invite",
    "wizard-2-about-you",
    "wizard-3-done",
    "window-1-overview",
    "window-2-streams",
    "window-3-preview",
    "window-4-settings",
    "window-5-about",
    "state-paused",
    "state-not-reachable",
    "state-port-taken",
)
SHOTS = (
    "tray-icon",
    "tray-menu",
    *(f"{name}-{scheme}" for name in SCHEMED for scheme in ("light", "dark")),
)


def test_real_app_under_x_with_a_tray_shows_everything(tmp_path, artifacts_dir) -> None:
    out = artifacts_dir / "screenshots"
    home = tmp_path / "home"
    home.mkdir()
    with (
        origin_process(tmp_path) as urls,
        run_coordinator(
            tmp_path, "--heartbeat-interval", "1", "--allow-private-relays", "--probe-interval", "2"
        ) as coord,
        xvfb_with_tray() as display,
    ):
        coord.cli("stream", "add", "demo", "--origin", urls["demo"], "--pool-per-hour", "36")
        env = app_env(display, home)
        result = subprocess.run(
            [
                sys.executable,
                str(ROOT / "tests/ui/screenshot_driver.py"),
                str(out),
                str(tmp_path / "node"),
                str(free_port()),
                coord.invite(),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=240,
        )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"exit {result.returncode}\n" + result.stdout[-3000:] + result.stderr[-3000:]
    findings = json.loads(lines[-1])
    assert "error" not in findings, findings["error"] + "\n" + result.stderr[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    assert findings["tray_available"] is True
    assert findings["tray_icon_geometry"][2] > 0
    assert findings["menu"][2:] == [
        "Pause helping",
        "Open StreamrP2P",
        "Preview",
        "Settings…",
        "Quit",
    ]
    assert findings["menu"][1].startswith("Today $")
    assert findings["headline"] == "You're helping stream demo"
    assert findings["paused_headline"].startswith("Paused until ")
    assert findings["wizard_result"].startswith("All set, Sam")
    assert findings["preview_backend"] == "vlc"
    assert findings["preview_frame"][0] > 0  # the system's libvlc decoded a frame
    assert findings["second_launch"][0] == 0 and "already running" in findings["second_launch"][1]
    assert findings["window_raised"] is True
    for name in SHOTS:
        assert (out / f"{name}.png").stat().st_size > 1000, name
    log = home / ".local" / "state" / "StreamrP2P" / "log" / "streamrp2p.log"
    assert "relay" in log.read_text()
