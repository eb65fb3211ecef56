"""Tray app figures: cold start to tray icon, idle RSS, CPU relaying 8 Mbit/s to 4 viewers
(window closed), and CPU with the preview playing.

    python benchmarks/tray.py [--runs 3] [--measure-s 30] [--bundle dist/streamr-node/streamr-node]

Runs the real app (`python -m desktop_app`) under Xvfb with trayer (a tray), a real coordinator
and a live ffmpeg origin at 8 Mbit/s on loopback; four viewers follow the stream from the
relay as HLS players do. The app's own process is measured (/proc), VLC's decoding included.
Targets (issues 6 and 17): start < 0.8 s, idle RSS joined < 100 MB, relaying CPU < 10 % of one core.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import m3u8

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coordinator_service.demo.origin import LiveOrigin  # noqa: E402
from desktop_app.core.config import NodeConfig  # noqa: E402
from desktop_app.core.node import join  # noqa: E402
from desktop_app.ui.single_instance import server_name  # noqa: E402
from tests.fixtures.coordinator import run_coordinator  # noqa: E402
from tests.fixtures.net import free_port  # noqa: E402
from tests.ui.xvfb import app_env, xvfb_with_tray  # noqa: E402

TARGET_START_S = 0.8
TARGET_RSS_MB = 100.0
TARGET_CPU_PCT = 10.0
TICKS = os.sysconf("SC_CLK_TCK")
APP_COMMAND = [sys.executable, "-m", "desktop_app"]  # --bundle: the PyInstaller executable
BARE_TRAY = (
    "from PySide6.QtWidgets import QApplication, QSystemTrayIcon\n"
    "app = QApplication([])\n"
    "QSystemTrayIcon(app.style().standardIcon(app.style().StandardPixmap.SP_ComputerIcon)).show()"
)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def send(data_dir: Path, message: str) -> None:
    """Talk to the running app's single-instance socket (as a second launch would)."""
    path = Path(tempfile.gettempdir()) / server_name(str(data_dir))
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(path))
        sock.sendall(message.encode() + b"\n")


class App:
    """The tray app as a process."""

    def __init__(self, env: dict[str, str], data_dir: Path, relay_port: int) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [
                *APP_COMMAND,
                "--data-dir",
                str(data_dir),
                "--relay-port",
                str(relay_port),
                "--status-port",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            text=True,
        )
        self.data_dir = data_dir

    def wait_line(self, text: str, timeout: float = 60) -> float:
        """Seconds from launch until a log line containing `text`."""
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                raise RuntimeError(f"the app exited ({self.process.poll()})")
            if text in line:
                return time.monotonic() - self.started
        raise TimeoutError(text)

    def drain(self) -> None:
        """Keep reading the log in the background so the pipe never fills."""
        assert self.process.stderr is not None
        stream = self.process.stderr
        import threading

        threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()

    def quit(self) -> None:
        send(self.data_dir, "quit")
        self.process.wait(30)


async def viewer(url: str, stop: asyncio.Event, received: list[int]) -> None:
    """Follow a live HLS playlist like a player: poll it, fetch each new segment once."""
    seen: set[str] = set()
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            try:
                playlist = m3u8.loads((await client.get(url)).text, uri=url)
                for segment in playlist.segments[-3:]:
                    if segment.absolute_uri not in seen:
                        seen.add(segment.absolute_uri)
                        received.append(len((await client.get(segment.absolute_uri)).content))
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)


async def cpu_percent(pid: int, seconds: float) -> float:
    before, start = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - start)


async def main(runs: int, measure_s: float) -> None:
    work = Path(tempfile.mkdtemp(prefix="tray-bench-"))
    home = work / "home"
    home.mkdir()
    data_dir = work / "node"
    relay_port = free_port()
    with (
        run_coordinator(work, "--heartbeat-interval", "2", "--allow-private-relays") as coord,
        xvfb_with_tray() as display,
    ):
        config = NodeConfig(data_dir=data_dir, relay_host="127.0.0.1", status_port=0)
        await join(config, coord.invite(), "bench", "@bench", relay_port)
        env = app_env(display, home)

        bare = []
        for _ in range(runs):  # reference: a bare PySide6 tray icon on this machine, now
            began = time.monotonic()
            subprocess.run([sys.executable, "-c", BARE_TRAY], env=env, check=True)
            bare.append(time.monotonic() - began)
        bare_s = statistics.median(bare)

        starts = []
        for _ in range(runs):
            app = App(env, data_dir, relay_port)
            starts.append(app.wait_line("tray icon shown"))
            app.wait_line("relay public URL")
            app.quit()
        start_s = statistics.median(starts)

        app = App(env, data_dir, relay_port)
        app.wait_line("relay public URL")
        app.drain()
        await asyncio.sleep(10)
        idle_rss = rss_mb(app.process.pid)

        async with LiveOrigin(("bench",), size="1280x720", video_bitrate="8000k") as origin:
            coord.cli(
                "stream", "add", "bench", "--origin", origin.url("bench"), "--pool-per-hour", "36"
            )
            relay_url = f"http://127.0.0.1:{relay_port}/live/bench.m3u8"
            async with httpx.AsyncClient() as client:
                for _ in range(120):
                    if (await client.get(relay_url)).status_code == 200:
                        break
                    await asyncio.sleep(0.5)
            stop, received = asyncio.Event(), []
            viewers = [asyncio.create_task(viewer(relay_url, stop, received)) for _ in range(4)]
            await asyncio.sleep(8)  # players fill up
            first = sum(received)
            began = time.monotonic()
            relaying_cpu = await cpu_percent(app.process.pid, measure_s)
            rate_mbit = (sum(received) - first) * 8 / (time.monotonic() - began) / 4 / 1e6
            relaying_rss = rss_mb(app.process.pid)
            send(data_dir, "preview")
            await asyncio.sleep(6)
            preview_cpu = await cpu_percent(app.process.pid, measure_s)
            preview_rss = rss_mb(app.process.pid)
            stop.set()
            await asyncio.gather(*viewers)
        app.quit()

    print(
        f"cold start to tray icon: {start_s:.2f} s (median of {runs}; runs "
        f"{', '.join(f'{s:.2f}' for s in starts)}), ratio to the 0.8 s target "
        f"{start_s / TARGET_START_S:.2f}; a bare PySide6 tray icon takes {bare_s:.2f} s here "
        f"now (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(f"idle RSS: {idle_rss:.0f} MB, ratio to the 100 MB target {idle_rss / TARGET_RSS_MB:.2f}")
    print(
        f"relaying 4 viewers at {rate_mbit:.1f} Mbit/s each, window closed: CPU "
        f"{relaying_cpu:.1f} % of one core, ratio to the 10 % target "
        f"{relaying_cpu / TARGET_CPU_PCT:.2f} (RSS {relaying_rss:.0f} MB)"
    )
    print(
        f"the same with the preview playing (VLC in-process): CPU {preview_cpu:.1f} % of one "
        f"core (RSS {preview_rss:.0f} MB)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--measure-s", type=float, default=30.0)
    parser.add_argument("--bundle", type=Path, help="measure this executable (dist/streamr-node/…)")
    args = parser.parse_args()
    if args.bundle:
        APP_COMMAND[:] = [str(args.bundle.resolve())]
    asyncio.run(main(args.runs, args.measure_s))
