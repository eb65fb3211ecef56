"""End to end: `streamr-coordinator demo` relays a stream a player can read, then stops clean."""

import importlib.util
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.fixtures.net import free_port

ROOT = Path(__file__).resolve().parents[2]
FFPROBE = "/usr/bin/ffprobe"

pytestmark = pytest.mark.slow


class DemoProcess:
    """The demo as a child process whose output lines are collected by a thread."""

    def __init__(self, *args: str, marker: str, env: dict[str, str] | None = None) -> None:
        env = {
            **os.environ,
            **(env or {}),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "STREAMR_DEMO_TEST_MARKER": marker,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "coordinator_service", "demo", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))

    def _drain(self, timeout: float) -> None:
        try:
            self.lines.append(self._queue.get(timeout=timeout))
        except queue.Empty:
            return
        while True:
            try:
                self.lines.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """Return the first output line matching `pattern`, waiting up to `timeout` s."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                found = regex.search(line)
                if found:
                    return found
            if self.process.poll() is not None and self._queue.empty():
                self._reader.join(2)
                self._drain(0)
                pytest.fail(f"demo exited ({self.process.returncode}):\n" + "\n".join(self.lines))
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no line matching {pattern!r} in {timeout} s:\n" + "\n".join(self.lines)
                )
            self._drain(0.5)

    def stop(self, timeout: float = 40) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            pytest.fail(
                f"demo did not stop within {timeout} s of SIGINT:\n" + "\n".join(self.lines)
            )
        self._reader.join(5)
        self._drain(0)
        return code


def processes_with_marker(marker: str, pids: bool = False) -> list:
    """Return the command lines (or (pid, command line)) of live processes carrying `marker`."""
    found = []
    needle = f"STREAMR_DEMO_TEST_MARKER={marker}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle in (proc / "environ").read_bytes():
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append((int(proc.name), cmd) if pids else cmd)
        except OSError:
            continue
    return found


def ffprobe_streams(url: str) -> set[str]:
    result = subprocess.run(
        [FFPROBE, "-v", "error", "-rw_timeout", "10000000", "-show_entries",
         "stream=codec_type", "-of", "json", url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {s["codec_type"] for s in json.loads(result.stdout)["streams"]}


@pytest.mark.skipif(not Path(FFPROBE).exists(), reason="needs ffprobe")
def test_demo_relays_a_playable_stream_reports_activity_and_stops_without_leftovers(tmp_path):
    marker = uuid.uuid4().hex
    demo = DemoProcess(
        "--port", str(free_port()), "--data-dir", str(tmp_path / "demo"), "--nodes", "3",
        marker=marker,
    )  # fmt: skip
    try:
        watch = demo.wait_for(r"watch:\s+(http://\S+)", timeout=120).group(1)
        dashboard = demo.wait_for(r"dashboard:\s+(http://\S+)", timeout=5).group(1)
        token_path = Path(demo.wait_for(r"admin token:\s+(\S+)", timeout=5).group(1))
        origin = demo.wait_for(r"origin:\s+(http://\S+)", timeout=5).group(1)
        demo.wait_for(r"tray invite:\s+(http://\S+/join/\S+|streamr://\S+)", timeout=5)
        assert watch.endswith("/watch/demo.m3u8")
        assert token_path.is_file()

        demo.wait_for(r"heartbeats 3/3", timeout=60)
        # Once the nodes are probed, /watch offers players a node first, the origin last.
        deadline = time.monotonic() + 60
        while True:
            answer = httpx.get(watch, timeout=10)
            assert answer.status_code == 200, answer.text
            pathways = re.findall(r'STREAM-INF:.*PATHWAY-ID="([^"]+)"', answer.text)
            if pathways and pathways[0] != "origin":
                assert pathways[-1] == "origin" and origin.rsplit("/live/", 1)[0] in answer.text
                break
            assert time.monotonic() < deadline, "watch never offered a node's relay"
            time.sleep(1)
        assert {"video", "audio"} <= ffprobe_streams(watch)
        if importlib.util.find_spec("coordinator_service.dashboard.cli") is not None:
            sign_in = demo.wait_for(r"sign in:\s+(http://\S+)", timeout=5).group(1)
            with httpx.Client(follow_redirects=True, timeout=10) as browser:
                page = browser.get(sign_in)
                assert page.status_code == 200 and str(page.url).startswith(dashboard)
                assert "demo" in browser.get(dashboard).text

        demo.wait_for(r"probe\s+node-\d: ok", timeout=90)
        demo.wait_for(r"earnings\s+node-\d \$\d+\.\d\d", timeout=90)

        # A node that dies is reported; the demo goes on with the others.
        [victim] = [pid for pid, cmd in processes_with_marker(marker, pids=True) if "node-3" in cmd]
        os.kill(victim, signal.SIGKILL)
        demo.wait_for(r"warning\s+node-3 stopped", timeout=30)
        assert demo.process.poll() is None
    finally:
        code = demo.stop()
    assert code == 0, "\n".join(demo.lines)
    assert any("demo stopped" in line for line in demo.lines)
    assert processes_with_marker(marker) == []


@pytest.mark.skipif(not Path(FFPROBE).exists(), reason="needs ffprobe")
def test_demo_cheat_nodes_are_caught_and_flagged_while_the_honest_node_stays_healthy(tmp_path):
    marker = uuid.uuid4().hex
    demo = DemoProcess(
        "--port", "0", "--data-dir", str(tmp_path / "demo"), "--nodes", "1", "--cheat", "--gui",
        marker=marker, env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path / "home")},
    )  # fmt: skip
    try:
        demo.wait_for(r"cheats:\s+cheat-stale", timeout=120)
        demo.wait_for(r"probe\s+cheat-corrupt: FAILED: hash_mismatch", timeout=90)
        demo.wait_for(r"probe\s+cheat-stale: FAILED", timeout=90)
        flagged = r"heartbeats 3/3: cheat-corrupt flagged, cheat-stale flagged, node-1 healthy"
        demo.wait_for(flagged, timeout=90)
    finally:
        code = demo.stop()
    assert code == 0, "\n".join(demo.lines)
    assert not any("probe      node-1: FAILED" in line for line in demo.lines)
    # --gui: the tray app ran the whole time (offscreen) and was stopped with the rest.
    assert not any("tray-app stopped" in line for line in demo.lines)
    assert "tray app starting" in (tmp_path / "demo" / "logs" / "tray-app.log").read_text()
    assert processes_with_marker(marker) == []
