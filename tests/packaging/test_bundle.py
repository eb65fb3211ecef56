"""Smoke test of the PyInstaller bundles in dist/: the real executables, no Python from the tree.

Runs when the bundles exist, or when STREAMR_BUNDLE_TEST=1 (then it builds them first with
packaging/build.sh; CI sets it, see scripts/test). The headless node from the bundle joins a real
coordinator and relays a live stream that ffprobe reads; the bundled GUI starts offscreen; the
bundled coordinator serves and runs its migrations.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fixtures.coordinator import run_coordinator
from tests.fixtures.net import free_port, wait_http
from tests.fixtures.origin import origin_process
from tests.ui.xvfb import have_xvfb, xvfb_with_tray

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
NODE = DIST / "streamr-node" / "streamr-node"
COORDINATOR = DIST / "streamr-coordinator" / "streamr-coordinator"
FFPROBE = "/usr/bin/ffprobe"
BUILD = os.environ.get("STREAMR_BUNDLE_TEST") == "1"

pytestmark = [
    pytest.mark.slow,
    # The first test also waits for the build (about 2 minutes on a quiet 2-core machine).
    pytest.mark.timeout(1200),
    pytest.mark.skipif(
        not BUILD and not (NODE.exists() and COORDINATOR.exists()),
        reason="no bundle in dist/: run packaging/build.sh or set STREAMR_BUNDLE_TEST=1",
    ),
]


@pytest.fixture(scope="module")
def bundles(artifacts_dir: Path) -> dict[str, Path]:
    """The bundles; with STREAMR_BUNDLE_TEST=1 built now (time and size kept as an artifact)."""
    if BUILD:
        started = time.monotonic()
        result = subprocess.run(
            [str(ROOT / "packaging" / "build.sh")],
            env={**os.environ, "PY": sys.executable, "DEB": "0"},
            cwd=ROOT, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        seconds = time.monotonic() - started
        (artifacts_dir / "bundle-build.txt").write_text(
            f"build seconds: {seconds:.0f}\n{result.stdout}"
        )
    assert NODE.is_file() and COORDINATOR.is_file()
    return {"node": NODE, "coordinator": COORDINATOR}


def bundle_env(**extra: str) -> dict[str, str]:
    """An environment where nothing can come from the source tree: no PYTHONPATH, other cwd."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env = {k: v for k, v in env.items() if not k.startswith("STREAMR_")}
    return env | extra


@contextmanager
def started(argv: list[str], log: Path, cwd: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=cwd, env=bundle_env(**env), start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


def wait_ok(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited {process.returncode}:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(url, timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} never answered 200:\n{log.read_text()[-3000:]}")


@pytest.mark.skipif(not Path(FFPROBE).exists(), reason="needs ffprobe")
def test_bundled_headless_node_joins_a_real_coordinator_and_relays_a_stream_ffprobe_reads(
    bundles, tmp_path
):
    with (
        origin_process(tmp_path) as origins,
        run_coordinator(tmp_path, "--allow-private-relays", "--heartbeat-interval", "2") as coord,
    ):
        coord.cli("stream", "add", "demo", "--origin", origins["demo"], "--pool-per-hour", "36")
        link = coord.invite()
        relay_port, status_port = free_port(), free_port()
        log = tmp_path / "bundled-node.log"
        argv = [
            str(bundles["node"]), "--headless", "--invite", link, "--name", "Bundle",
            "--payout-handle", "@bundle", "--data-dir", str(tmp_path / "node"),
            "--relay-port", str(relay_port), "--status-port", str(status_port),
        ]  # fmt: skip
        with started(argv, log, cwd=tmp_path) as node:
            playlist = f"http://127.0.0.1:{relay_port}/live/demo.m3u8"
            wait_ok(playlist, node, log)
            probe = subprocess.run(
                [FFPROBE, "-v", "error", "-show_entries", "stream=codec_type", "-of", "json",
                 playlist],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert probe.returncode == 0, probe.stderr
            kinds = {s["codec_type"] for s in json.loads(probe.stdout)["streams"]}
            assert {"video", "audio"} <= kinds
            nodes = coord.admin_get("/api/v1/admin/nodes")
            assert [n["display_name"] for n in nodes] == ["Bundle"]
            assert nodes[0]["version"] != ""


@pytest.mark.skipif(
    not (ROOT / "desktop_app" / "ui" / "app.py").is_file(), reason="the tray app is not built yet"
)
def test_bundled_gui_starts_offscreen_and_shows_its_window(bundles, tmp_path):
    log = tmp_path / "bundled-gui.log"
    argv = [str(bundles["node"]), "--data-dir", str(tmp_path / "gui")]
    env = {"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path / "home")}
    with started(argv, log, cwd=tmp_path, **env) as gui:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert gui.poll() is None, f"GUI exited {gui.returncode}:\n{log.read_text()[-3000:]}"
            time.sleep(0.5)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    assert not re.search(r"(?i)could not (load|find) the qt platform plugin", text), text[-3000:]


@pytest.mark.skipif(not have_xvfb(), reason="needs Xvfb (scripts/test installs it)")
def test_bundled_gui_opens_the_window_and_plays_a_preview_frame(bundles, tmp_path):
    """Defect 1: the bundle's own plugin-less libvlc could not play; it uses the system's."""
    home = tmp_path / "home"
    log = tmp_path / "bundled-preview.log"
    app_log = home / ".local" / "state" / "StreamrP2P" / "log" / "streamrp2p.log"
    argv = [str(bundles["node"]), "--data-dir", str(tmp_path / "gui")]
    with origin_process(tmp_path) as urls, xvfb_with_tray() as display:
        env = {
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "HOME": str(home),
            "STREAMR_PREVIEW_SELFTEST": urls["demo"],
        }
        with started(argv, log, cwd=tmp_path, **env) as gui:
            deadline = time.monotonic() + 60
            text = ""
            while time.monotonic() < deadline and "preview self-test: frame" not in text:
                assert gui.poll() is None, f"GUI exited:\n{log.read_text()[-3000:]}"
                time.sleep(0.5)
                text = app_log.read_text(errors="replace") if app_log.exists() else ""
    assert "preview self-test: playing" in text and "with vlc" in text, text[-3000:]
    assert re.search(r"preview self-test: frame [1-9][0-9]*x[1-9]", text), text[-3000:]


def test_bundled_coordinator_serves_and_migrates_its_database(bundles, tmp_path):
    port = free_port()
    log = tmp_path / "bundled-coordinator.log"
    data = str(tmp_path / "coord")
    argv = [str(bundles["coordinator"]), "serve", "--port", str(port), "--data-dir", data]
    with started(argv, log, cwd=tmp_path) as server:
        wait_ok(f"http://127.0.0.1:{port}/healthz", server, log)
        wait_http(f"http://127.0.0.1:{port}/api/v1/streams")
        added = subprocess.run(
            [str(bundles["coordinator"]), "stream", "add", "main", "--origin",
             "http://127.0.0.1:8080/live/main.m3u8", "--pool-per-hour", "5", "--data-dir", data],
            capture_output=True, text=True, timeout=60, env=bundle_env(), cwd=tmp_path,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        streams = httpx.get(f"http://127.0.0.1:{port}/api/v1/streams", timeout=10).json()
        assert [s["name"] for s in streams] == ["main"]
