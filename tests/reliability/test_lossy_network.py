"""Nodes behind a lossy network, each in its own network namespace made by the test.

Topology: every node runs in namespace `srel<pid>n<i>`, joined to the host by a veth pair
(10.77.<i>.2 inside, 10.77.<i>.1 outside). The coordinator and the live origin listen on the
host at 10.77.255.1 (an address on lo every namespace routes to). Loss and latency: `tc netem delay
200ms loss 10%` when the kernel has sch_netem. This one has not (the test says so loudly): then
10 % of packets are dropped each way by iptables' `statistic` match (real packet loss) and every
path (node → coordinator, node → origin, prober → relay) crosses a forwarder on the hub that
holds each chunk 100 ms each way (200 ms more per round trip, at the TCP-stream level).
Checked: the honest nodes are never flagged, and their payout is exact (shares sum to the pool,
every node credited for most of the run).
"""

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fixtures.coordinator import run_coordinator
from tests.fixtures.delay_proxy import delay_proxy
from tests.fixtures.node import node_command, node_env
from tests.fixtures.origin import origin_process, stop_process

pytestmark = pytest.mark.slow

HUB = "10.77.255.1"
NODES = 2
RELAY_PORT = 18080
LATENCY_S = 0.2


def _run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=30)


class Namespaces:
    """Made on enter, always deleted on exit (with their veth pairs and the hub address)."""

    def __init__(self, count: int) -> None:
        self.names = [f"srel{os.getpid()}n{i}" for i in range(count)]
        self.netem = False
        self.notes: list[str] = []

    def __enter__(self) -> "Namespaces":
        try:
            _run("ip", "addr", "add", f"{HUB}/32", "dev", "lo")
            for index, name in enumerate(self.names):
                outside, inside = f"sro{os.getpid() % 10000}{index}", f"sri{index}"
                _run("ip", "netns", "add", name)
                _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
                _run("ip", "link", "set", inside, "netns", name)
                _run("ip", "addr", "add", f"10.77.{index}.1/24", "dev", outside)
                _run("ip", "link", "set", outside, "up")
                ns = ("ip", "netns", "exec", name)
                _run(*ns, "ip", "addr", "add", f"10.77.{index}.2/24", "dev", inside)
                _run(*ns, "ip", "link", "set", inside, "up")
                _run(*ns, "ip", "link", "set", "lo", "up")
                _run(*ns, "ip", "route", "add", "default", "via", f"10.77.{index}.1")
                netem = _run(
                    *ns, "tc", "qdisc", "add", "dev", inside, "root", "netem",
                    "delay", "200ms", "loss", "10%", check=False,
                )  # fmt: skip
                self.netem = netem.returncode == 0
                if not self.netem:
                    self.notes.append(f"netem: {netem.stderr.strip()}")
                    for chain in ("INPUT", "OUTPUT"):
                        _run(
                            *ns, "iptables", "-A", chain, "-m", "statistic", "--mode",
                            "random", "--probability", "0.1", "-j", "DROP",
                        )  # fmt: skip
        except (subprocess.CalledProcessError, FileNotFoundError) as exc:
            self.__exit__(None, None, None)
            detail = getattr(exc, "stderr", "") or str(exc)
            pytest.skip(f"!!! cannot build network namespaces here ({detail.strip()}): SKIPPED")
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.names:
            _run("ip", "netns", "pids", name, check=False)
            _run("ip", "netns", "del", name, check=False)  # its veth ends go with it
        _run("ip", "addr", "del", f"{HUB}/32", "dev", "lo", check=False)

    def dropped(self, index: int) -> int:
        """Packets the loss rules of namespace `index` dropped so far (0 with netem)."""
        if self.netem:
            return -1
        listing = _run(*self.exec(index), "iptables", "-L", "-v", "-n", "-x").stdout
        return sum(int(line.split()[0]) for line in listing.splitlines() if "statistic" in line)

    def exec(self, index: int) -> list[str]:
        return ["ip", "netns", "exec", self.names[index]]


@pytest.fixture
def namespaces() -> Iterator[Namespaces]:
    with Namespaces(NODES) as made:
        if not made.netem:
            print(
                "\n!!! sch_netem is missing from this kernel "
                f"({'; '.join(sorted(set(made.notes)))}): 10 % packet loss each way via "
                "iptables statistic, 200 ms round-trip latency via TCP forwarders on the hub"
            )
        yield made


def _hub_port() -> int:
    with socket.socket() as sock:
        sock.bind((HUB, 0))
        return int(sock.getsockname()[1])


def test_honest_nodes_on_a_lossy_network_are_not_flagged_and_paid_exactly(
    tmp_path: Path, namespaces: Namespaces
) -> None:
    # without netem, latency comes from forwarders on the hub: node → coordinator,
    # node → origin, prober → node relay all cross one (100 ms each way)
    delay_s = 0.0 if namespaces.netem else LATENCY_S / 2
    with origin_process(tmp_path, "main", flags=("--host", "0.0.0.0")) as origins:
        origin_port = int(origins["main"].split(":")[2].split("/")[0])
        with run_coordinator(
            tmp_path,
            "--host",
            "0.0.0.0",
            "--heartbeat-interval",
            "2",
            "--probe-interval",
            "1.5",
            "--allow-private-relays",
        ) as coord:
            ports = [_hub_port() for _ in range(2 + NODES)]
            routes = [
                ((HUB, ports[0]), ("127.0.0.1", int(coord.url.rsplit(":", 1)[1]))),
                ((HUB, ports[1]), ("127.0.0.1", origin_port)),
            ] + [((HUB, ports[2 + i]), (f"10.77.{i}.2", RELAY_PORT)) for i in range(NODES)]
            with delay_proxy(routes, delay_s):
                hub = f"http://{HUB}:{ports[0]}"
                started_at = time.monotonic()
                assert httpx.get(f"{hub}/healthz", timeout=10).status_code == 200
                rtt = time.monotonic() - started_at
                assert rtt >= 2 * delay_s, rtt
                origin_url = f"http://{HUB}:{ports[1]}/live/main.m3u8"
                coord.cli(
                    "stream", "add", "main", "--origin", origin_url, "--pool-per-hour", "3600"
                )
                started = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
                processes = []
                try:
                    for index in range(NODES):
                        code = coord.invite().rsplit("/", 1)[1]
                        command = node_command(
                            f"{hub}/join/{code}",
                            tmp_path / f"node{index}",
                            "--name",
                            f"lossy{index}",
                            "--relay-port",
                            str(RELAY_PORT),
                            "--public-url",
                            f"http://{HUB}:{ports[2 + index]}",
                        )
                        log = open(tmp_path / f"node{index}.log", "wb")
                        processes.append(
                            subprocess.Popen(
                                namespaces.exec(index) + command,
                                stdout=log,
                                stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL,
                                env=node_env({"STREAMR_NODE_RELAY_HOST": "0.0.0.0"}),
                                start_new_session=True,
                            )
                        )
                        log.close()
                    time.sleep(20)
                    dropped = [namespaces.dropped(i) for i in range(NODES)]
                    ended = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
                    nodes = coord.admin_get("/api/v1/admin/nodes")
                    probes = coord.admin_get("/api/v1/admin/probes?limit=1000")
                finally:
                    for process in processes:
                        stop_process(process)
            logs = "\n".join(
                (tmp_path / f"node{i}.log").read_text(errors="replace") for i in range(NODES)
            )
            assert len(nodes) == NODES, logs[-3000:]
            assert all(node["state"] == "healthy" for node in nodes), (nodes, logs[-3000:])
            ok = [p for p in probes if p["ok"]]
            assert len({p["node_id"] for p in ok}) == NODES, probes
            payout = coord.admin_post(
                "/api/v1/admin/payouts/compute",
                {
                    "period_from": started.isoformat(),
                    "period_to": ended.isoformat(),
                    "stream": "main",
                },
            )
    print(f"round trip through the hub: {rtt * 1000:.0f} ms")
    assert all(count != 0 for count in dropped), f"no packet was lost: {dropped}"
    print(f"packets dropped per namespace: {dropped}")
    lines = payout["lines"]
    assert sum(line["amount_minor"] for line in lines) == payout["pool_minor"]
    assert len(lines) == NODES
    total = sum(line["credited_seconds"] for line in lines)
    for line in lines:  # pro rata to credited time, to the minor unit (largest remainder)
        assert line["credited_seconds"] >= 5, (line, probes)
        exact = payout["pool_minor"] * line["credited_seconds"] / total
        assert abs(line["amount_minor"] - exact) < 1, (line, exact)
