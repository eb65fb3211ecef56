"""SIGTERM (a logout, systemd, `kill`) quits as Quit does: relay stopped, history saved."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_sigterm_stops_the_app_cleanly(tmp_path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMR_", "XDG_"))}
    env |= {"HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    log = home / ".local" / "state" / "StreamrP2P" / "log" / "streamrp2p.log"
    app = subprocess.Popen(
        [sys.executable, "-m", "desktop_app", "--data-dir", str(tmp_path / "node")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and "starting" in log.read_text()):
            assert app.poll() is None and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.2)
        time.sleep(1.0)  # the event loop runs
        app.send_signal(signal.SIGTERM)
        assert app.wait(30) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    text = log.read_text()
    assert "signal 15: quitting" in text and "StreamrP2P tray app stopped" in text
