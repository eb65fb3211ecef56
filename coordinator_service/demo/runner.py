"""`streamr-coordinator demo`: coordinator + live test origin + N headless nodes on loopback.

Every part is a real child process in its own process group (so Ctrl-C in the terminal reaches
only the demo, which then stops the others in order): the origin (`demo/origin.py`), the
coordinator (`serve` with short intervals and `--allow-private-relays`), the nodes
(`python -m desktop_app --headless`), optionally cheating nodes and the tray app. The demo then
watches the admin API and prints a line for each heartbeat round, probe and earnings change.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from coordinator_service.demo.processes import Child, ChildExited, stop_all
from coordinator_service.demo.watch import ActivityWatcher

__all__ = ["DemoError", "DemoOptions", "run_demo"]

logger = logging.getLogger(__name__)

STREAM = "demo"
POOL_PER_HOUR_MINOR = 3600  # $36 an hour: a cent a second, so earnings visibly move
ROOT = Path(__file__).resolve().parents[2]
ESSENTIAL = ("origin", "coordinator")  # the demo cannot go on without these

Printer = Callable[[str], None]


class DemoError(RuntimeError):
    """The demo cannot start or keep running; the message is one line for the console."""


@dataclass(frozen=True)
class DemoOptions:
    """What `streamr-coordinator demo` was asked for."""

    port: int = 8000
    data_dir: Path | None = None
    nodes: int = 3
    cheat: bool = False
    gui: bool = False
    heartbeat_interval: int = 5
    probe_interval: float = 10.0
    poll_interval: float = 1.0


@dataclass
class _NodeSpec:
    name: str
    cheat: str | None = None
    relay_port: int = 0
    status_port: int = 0


def _free_port(preferred: int = 0) -> int:
    """Return `preferred` if it can be bound on 127.0.0.1, else a free port.

    With SO_REUSEADDR, as the servers bind: a port a stopped demo left in TIME-WAIT is free.
    """
    for candidate in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise DemoError("no free TCP port on 127.0.0.1")


class Demo:
    """Starts, watches and stops the demo's processes."""

    def __init__(self, options: DemoOptions, out: Printer) -> None:
        if options.nodes < 0 or options.nodes > 20:
            raise DemoError("--nodes must be between 0 and 20")
        self.options = options
        self.out = out
        self._own_dir = options.data_dir is None
        base = options.data_dir or Path(tempfile.mkdtemp(prefix="streamr-demo-"))
        self.data_dir = base.expanduser().resolve()
        self.coordinator_dir = self.data_dir / "coordinator"
        self.logs = self.data_dir / "logs"
        self.children: list[Child] = []
        self.stop_event = threading.Event()
        self.port = 0
        self.url = ""
        self.origin_url = ""
        self._client: httpx.Client | None = None
        self._watcher: ActivityWatcher | None = None
        self._env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
            "PYTHONUNBUFFERED": "1",
            # the demo stays on this machine: its nodes' relays listen on loopback only
            "STREAMR_NODE_RELAY_HOST": "127.0.0.1",
        }

    # --- processes -----------------------------------------------------------------------------

    def _spawn(self, name: str, *args: str) -> Child:
        child = Child(
            name, [sys.executable, *args], self.logs / f"{name}.log", env=self._env, cwd=ROOT
        )
        self.children.append(child)
        return child

    def _wait_until(
        self, what: str, ready: Callable[[], bool], child: Child, timeout: float = 60.0
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stop_event.is_set():
                raise DemoError("stopped while starting")
            child.check()
            if ready():
                return
            time.sleep(0.2)
        raise DemoError(f"{what} did not come up within {timeout:.0f} s; see {child.log_path}")

    @staticmethod
    def _status(url: str) -> int:
        """Return the HTTP status of GET `url`, or 0 when nothing answers."""
        try:
            return httpx.get(url, timeout=2.0).status_code
        except httpx.HTTPError:
            return 0

    def start_origin(self) -> None:
        port = _free_port()
        child = self._spawn(
            "origin",
            "-m",
            "coordinator_service.demo.origin",
            "--stream",
            STREAM,
            "--port",
            str(port),
        )
        self.origin_url = f"http://127.0.0.1:{port}/live/{STREAM}.m3u8"
        self._wait_until("the live origin", lambda: self._status(self.origin_url) == 200, child)

    def start_coordinator(self) -> None:
        self.port = _free_port(self.options.port)
        if self.options.port and self.port != self.options.port:
            self.out(f"port {self.options.port} is taken; using {self.port}")
        self.url = f"http://127.0.0.1:{self.port}"
        child = self._spawn(
            "coordinator",
            "-m",
            "coordinator_service",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.coordinator_dir),
            "--allow-private-relays",
            "--heartbeat-interval",
            str(self.options.heartbeat_interval),
            "--probe-interval",
            str(self.options.probe_interval),
        )
        self._wait_until(
            "the coordinator", lambda: self._status(f"{self.url}/healthz") == 200, child
        )
        token_path = self.admin_token_path
        self._wait_until("the admin token", token_path.is_file, child, timeout=10)
        self._client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token_path.read_text().strip()}"},
            timeout=10.0,
        )

    def forget_nodes_of_another_port(self) -> None:
        """In a reused data dir, nodes remember the coordinator's old address: if the port
        changed, drop their identities so they join this coordinator afresh."""
        port_file = self.data_dir / "coordinator-port"
        saved = port_file.read_text().strip() if port_file.is_file() else str(self.port)
        if saved != str(self.port):
            for folder in self.data_dir.iterdir():
                if folder.is_dir() and folder.name not in ("coordinator", "logs"):
                    shutil.rmtree(folder, ignore_errors=True)
        port_file.write_text(f"{self.port}\n")

    @property
    def admin_token_path(self) -> Path:
        return self.coordinator_dir / "admin-token"

    @property
    def watcher(self) -> ActivityWatcher:
        if self._watcher is None:
            self._watcher = ActivityWatcher(self.client, self.out, self.options.heartbeat_interval)
        return self._watcher

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            raise DemoError("the coordinator is not running")
        return self._client

    def _api(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise DemoError(f"the coordinator did not answer {method} {path}: {exc}") from exc
        if response.status_code >= 400:
            raise DemoError(
                f"the coordinator refused {method} {path}: "
                f"{response.status_code} {response.text[:200]}"
            )
        return response.json() if response.content else None

    def add_stream(self) -> None:
        """Add the stream `demo`; in a reused data dir, point it at this run's origin."""
        body = {"origin_url": self.origin_url, "pool_per_hour_minor": POOL_PER_HOUR_MINOR}
        existing = self.client.get(f"/api/v1/admin/streams/{STREAM}")
        if existing.status_code == 200:
            self._api("PATCH", f"/api/v1/admin/streams/{STREAM}", json=body | {"paused": False})
        else:
            self._api("POST", "/api/v1/admin/streams", json=body | {"name": STREAM})

    def create_invite(self, note: str) -> str:
        body = self._api(
            "POST", "/api/v1/admin/invites", json={"uses": 1, "expires_in_s": 86400, "note": note}
        )
        return str(body["link"])

    def dashboard_link(self) -> str | None:
        """Return a one-time dashboard sign-in link, when the dashboard is installed."""
        if importlib.util.find_spec("coordinator_service.dashboard.cli") is None:
            return None
        result = subprocess.run(
            [sys.executable, "-m", "coordinator_service", "dashboard-link"]
            + ["--data-dir", str(self.coordinator_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            env=self._env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
        lines = result.stdout.strip().splitlines()
        if result.returncode != 0 or not lines:
            logger.warning("no dashboard sign-in link: %s", result.stderr.strip()[-300:])
            return None
        return lines[-1]

    def node_specs(self) -> list[_NodeSpec]:
        specs = [_NodeSpec(f"node-{i + 1}") for i in range(self.options.nodes)]
        if self.options.cheat:
            specs += [_NodeSpec("cheat-stale", "stale"), _NodeSpec("cheat-corrupt", "corrupt")]
        for spec in specs:
            spec.relay_port = _free_port()
            spec.status_port = _free_port()
        return specs

    def start_node(self, spec: _NodeSpec) -> Child:
        # One invite per node: the coordinator rightly suspects many nodes from one invite.
        link = self.create_invite(f"demo {spec.name}")
        # A cheat is the ordinary node with one part patched (see demo/cheat.py).
        entry = (
            ["-m", "coordinator_service.demo.cheat", spec.cheat]
            if spec.cheat
            else ["-m", "desktop_app"]
        )
        args = [
            *entry,
            "--headless",
            "--invite",
            link,
            "--name",
            spec.name,
            "--payout-handle",
            f"@{spec.name}",
            "--data-dir",
            str(self.data_dir / spec.name),
            "--relay-port",
            str(spec.relay_port),
            "--status-port",
            str(spec.status_port),
        ]
        return self._spawn(spec.name, *args)

    def start_gui(self, link: str) -> None:
        self._spawn(
            "tray-app",
            "-m",
            "desktop_app",
            "--invite",
            link,
            "--data-dir",
            str(self.data_dir / "tray-app"),
            "--relay-port",
            str(_free_port()),
        )

    # --- the whole run -------------------------------------------------------------------------

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.out(f"starting the demo in {self.data_dir} …")
        self.start_origin()
        self.out("  live test origin is up (ffmpeg test pattern, 1 s segments)")
        self.start_coordinator()
        self.out(f"  coordinator is up at {self.url}")
        self.forget_nodes_of_another_port()
        self.add_stream()
        specs = self.node_specs()
        for spec in specs:
            self.start_node(spec)
        self.out(f"  {len(specs)} node(s) joining with their invites")
        tray_link = self.create_invite("demo tray app")
        if self.options.gui:
            self.start_gui(tray_link)
        sign_in = self.dashboard_link()
        lines = [
            "",
            "StreamrP2P demo is running — Ctrl-C stops every process.",
            f"  dashboard:    {self.url}/",
        ]
        if sign_in:
            lines.append(f"  sign in:      {sign_in}   (works once; or paste the admin token)")
        lines += [
            f"  watch:        {self.url}/watch/{STREAM}.m3u8   (VLC, ffplay, mpv, Safari)",
            f"  admin token:  {self.admin_token_path}",
            f"  tray invite:  {tray_link}",
            f"  origin:       {self.origin_url}",
            f"  logs:         {self.logs}",
        ]
        if self.options.cheat:
            lines.append(
                "  cheats:       cheat-stale (stopped pulling), cheat-corrupt (wrong bytes)"
            )
        for line in [*lines, ""]:
            self.out(line)

    def watch(self) -> None:
        """Poll until asked to stop; raise ChildExited if the origin or coordinator dies."""
        reported: set[str] = set()
        while not self.stop_event.wait(self.options.poll_interval):
            for child in self.children:
                try:
                    child.check()
                except ChildExited as exc:
                    if child.name in ESSENTIAL:
                        raise
                    if child.name not in reported:  # a node or the tray app: say so, go on
                        reported.add(child.name)
                        self.out(f"[{time.strftime('%H:%M:%S')}] warning    {exc}")
            self.watcher.poll()

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        stop_all(list(reversed(self.children)))
        self.children.clear()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def run_demo(options: DemoOptions, out: Printer | None = None) -> int:
    """Run the demo until SIGINT/SIGTERM; return the exit code."""
    printer: Printer = out or (lambda line: print(line, flush=True))
    for noisy in ("httpx", "httpcore"):  # one line per poll request otherwise
        logging.getLogger(noisy).setLevel(logging.WARNING)
    demo = Demo(options, printer)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        demo.stop_event.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        demo.start()
        demo.watch()
    except (DemoError, ChildExited) as exc:
        if not demo.stop_event.is_set():
            printer(f"error: {exc}")
            code = 1
    finally:
        printer("stopping the demo …")
        demo.stop()
        for sig, handler in previous.items():
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(sig, handler)
        printer("demo stopped; no processes left.")
    return code
