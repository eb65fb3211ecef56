"""`streamr-coordinator demo`: coordinator + live test origin + N headless nodes on loopback.

Every part is a real child process in its own process group (so Ctrl-C in the terminal reaches
only the demo, which then stops the others in order): the origin (`demo/origin.py`), the
coordinator (`serve` with short intervals and `--allow-private-relays`), the nodes
(`python -m desktop_app --headless`), optionally cheating nodes and the tray app. The demo then
watches the admin API and prints a line for each heartbeat round, probe and earnings change.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from coordinator_service.demo.processes import Child, ChildExited, stop_all

__all__ = ["DemoError", "DemoOptions", "run_demo"]

logger = logging.getLogger(__name__)

STREAM = "demo"
POOL_PER_HOUR_MINOR = 3600  # $36 an hour: a cent a second, so earnings visibly move
ROOT = Path(__file__).resolve().parents[2]

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


@dataclass
class _Watch:
    """What the demo last printed, so it prints only changes."""

    beats: dict[str, str] = field(default_factory=dict)
    pending_beats: set[str] = field(default_factory=set)
    last_round_at: float = 0.0
    states: dict[str, str] = field(default_factory=dict)
    seen_probes: set[tuple[str, str]] = field(default_factory=set)
    earnings: dict[str, int] = field(default_factory=dict)
    last_earnings_at: float = 0.0


def _free_port(preferred: int = 0) -> int:
    """Return `preferred` if it can be bound on 127.0.0.1, else a free port."""
    import socket

    for candidate in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise DemoError("no free TCP port on 127.0.0.1")


def _money(minor: int, currency: str = "USD") -> str:
    sign = "-" if minor < 0 else ""
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{sign}{symbol}{abs(minor) // 100}.{abs(minor) % 100:02d}"


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
        self._watch = _Watch()
        self._env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
            "PYTHONUNBUFFERED": "1",
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

    @property
    def admin_token_path(self) -> Path:
        return self.coordinator_dir / "admin-token"

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
        self._api(
            "POST",
            "/api/v1/admin/streams",
            json={
                "name": STREAM,
                "origin_url": self.origin_url,
                "pool_per_hour_minor": POOL_PER_HOUR_MINOR,
                "currency": "USD",
            },
        )

    def create_invite(self, note: str) -> str:
        body = self._api(
            "POST", "/api/v1/admin/invites", json={"uses": 1, "expires_in_s": 86400, "note": note}
        )
        return str(body["link"])

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
        # A cheat is the ordinary node with one part patched (see desktop_app/cheat.py).
        entry = ["-m", "desktop_app.cheat", spec.cheat] if spec.cheat else ["-m", "desktop_app"]
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

    # --- watching ------------------------------------------------------------------------------

    def _stamp(self) -> str:
        return time.strftime("%H:%M:%S")

    def _get(self, path: str, **params: Any) -> Any:
        try:
            response = self.client.get(path, params=params or None)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        return response.json()

    def poll(self) -> None:
        """Print what changed since the last poll: heartbeat rounds, probes, earnings, states."""
        nodes = self._get("/api/v1/admin/nodes")
        if isinstance(nodes, dict):
            nodes = nodes.get("nodes", nodes.get("items", []))
        names: dict[str, str] = {}
        if isinstance(nodes, list):
            self._watch_heartbeats(nodes)
            names = {str(n["node_id"]): str(n["display_name"]) for n in nodes}
        probes = self._get("/api/v1/admin/probes", limit=50)
        if isinstance(probes, dict):
            probes = probes.get("probes", probes.get("items", []))
        if isinstance(probes, list):
            self._watch_probes(probes, names)
        board = self._get("/api/v1/leaderboard")
        if isinstance(board, dict):
            self._watch_earnings(board.get("entries", []))

    def _watch_heartbeats(self, nodes: list[dict[str, Any]]) -> None:
        watch = self._watch
        for node in nodes:
            name = str(node.get("display_name", node.get("node_id", "?")))
            beat = str(node.get("last_heartbeat_at") or "")
            if beat and watch.beats.get(name) != beat:
                watch.beats[name] = beat
                watch.pending_beats.add(name)
            state = str(node.get("state", ""))
            if state and watch.states.get(name) not in (None, state):
                self.out(f"[{self._stamp()}] state      {name}: {watch.states[name]} -> {state}")
            watch.states[name] = state
        now = time.monotonic()
        everyone = {str(n.get("display_name")) for n in nodes}
        due = now - watch.last_round_at >= self.options.heartbeat_interval
        if watch.pending_beats and (watch.pending_beats >= everyone or due):
            parts = ", ".join(
                f"{name} {watch.states.get(name, '?')}" for name in sorted(watch.pending_beats)
            )
            self.out(
                f"[{self._stamp()}] heartbeats {len(watch.pending_beats)}/{len(everyone)}: {parts}"
            )
            watch.pending_beats.clear()
            watch.last_round_at = now

    def _watch_probes(self, probes: list[dict[str, Any]], names: dict[str, str]) -> None:
        for probe in sorted(probes, key=lambda p: str(p.get("at", ""))):
            key = (str(probe.get("node_id")), str(probe.get("at")))
            if key in self._watch.seen_probes:
                continue
            self._watch.seen_probes.add(key)
            name = names.get(key[0], key[0])
            verdict = "ok" if probe.get("ok") else f"FAILED: {probe.get('reason', '?')}"
            latency = probe.get("latency_ms")
            extra = f" ({latency} ms)" if latency is not None else ""
            self.out(f"[{self._stamp()}] probe      {name}: {verdict}{extra}")

    def _watch_earnings(self, entries: list[dict[str, Any]]) -> None:
        watch = self._watch
        current = {str(e["display_name"]): int(e.get("earned_minor", 0)) for e in entries}
        now = time.monotonic()
        if current and current != watch.earnings and now - watch.last_earnings_at >= 5:
            currency = str(entries[0].get("currency", "USD")) if entries else "USD"
            parts = ", ".join(
                f"{name} {_money(amount, currency)}"
                for name, amount in sorted(current.items(), key=lambda kv: (-kv[1], kv[0]))
            )
            self.out(f"[{self._stamp()}] earnings   {parts}")
            watch.earnings = current
            watch.last_earnings_at = now

    # --- the whole run -------------------------------------------------------------------------

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.out(f"starting the demo in {self.data_dir} …")
        self.start_origin()
        self.start_coordinator()
        self.add_stream()
        for spec in self.node_specs():
            self.start_node(spec)
        tray_link = self.create_invite("demo tray app")
        if self.options.gui:
            self.start_gui(tray_link)
        lines = [
            "",
            "StreamrP2P demo is running — Ctrl-C stops every process.",
            f"  dashboard:    {self.url}/",
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
        """Poll until asked to stop; raise ChildExited if a process dies."""
        while not self.stop_event.wait(self.options.poll_interval):
            for child in self.children:
                if child.name != "tray-app":
                    child.check()
            self.poll()

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
