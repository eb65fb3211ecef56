"""HTTPS relays: how long a node waits for its certificate, end to end, against pebble.

    python benchmarks/relay_cert.py [--nodes 5]

Starts Debian's pebble (the ACME test CA, validating at once) and a coordinator with a relay
domain whose DNS pebble resolves through, then starts real headless nodes one after another
(heartbeat every second) and times, for each, from the node's process start to its relay port
serving a certificate for its name that verifies against pebble's root. The steps inside:
join, first heartbeat (the name), CSR, ACME order + DNS-01 + finalize, next heartbeat (the
chain), switch to HTTPS. No target in the issue: the figure is reported as it is.
"""

import argparse
import re
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.node import RunningNode, run_node
from tests.fixtures.relay_tls import ZONE, fetch_certificate, relay_ca


def _wait_https(node: RunningNode, root: str, timeout: float = 120) -> tuple[float, float]:
    """Poll the node: (when it asked for a certificate, when its port served a verified one)."""
    deadline = time.monotonic() + timeout
    asked: float | None = None
    while time.monotonic() < deadline:
        log = node.log()
        found = re.search(r"as node ([0-9a-f]+)", log)
        if asked is None and "asked the coordinator for a certificate" in log:
            asked = time.monotonic()
        if found and asked is not None:
            name = f"127-0-0-1.{found.group(1)}.{ZONE}"
            try:
                fetch_certificate(f"https://{name}:{node.relay_port}", name, root, timeout=2)
                return asked, time.monotonic()
            except (OSError, ssl.SSLError):
                pass
        time.sleep(0.02)
    raise TimeoutError(f"the node never served HTTPS:\n{node.log()[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--verbose", action="store_true", help="the node's steps with times")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        with relay_ca(tmp, "--heartbeat-interval", "1") as (ca, coord, _):
            root = ca.root_pem()
            times, issue, ready = [], [], []
            for index in range(args.nodes):
                started = time.monotonic()
                with run_node(tmp, coord.invite(), data_dir=tmp / f"node{index}") as node:
                    listening = time.monotonic()  # run_node returns once the relay listens
                    asked, serving = _wait_https(node, root)
                    times.append(serving - started)
                    ready.append(serving - listening)
                    issue.append(serving - asked)
                    steps = [
                        line.split(" ", 1)[0][11:19] + " " + line.rsplit(": ", 1)[-1][:60]
                        for line in node.log().splitlines()
                        if any(k in line for k in ("listening", "certificate", "joined", "HTTPS"))
                    ]
                print(
                    f"node {index}: HTTPS after {times[-1]:.2f} s from process start, "
                    f"{ready[-1]:.2f} s from its relay listening, {issue[-1]:.2f} s from its CSR"
                )
                if args.verbose:
                    print("   " + "\n   ".join(steps))
    print(
        f"node start → HTTPS relay (zone {ZONE}, heartbeat 1 s), {args.nodes} nodes: "
        f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s"
    )
    print(
        f"relay listening (plain) → HTTPS: median {statistics.median(ready):.2f} s,"
        f" min {min(ready):.2f} s, max {max(ready):.2f} s"
    )
    print(
        f"CSR sent → relay serving the issued certificate: median {statistics.median(issue):.2f} s,"
        f" min {min(issue):.2f} s, max {max(issue):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
