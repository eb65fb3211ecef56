"""Heartbeat throughput and latency of a real coordinator on SQLite, next to a no-op endpoint.

    python benchmarks/heartbeats.py [--nodes 5000] [--concurrency 64] [--seconds 10]

Starts `python -m coordinator_service serve` (SQLite, fresh data dir) and a uvicorn process
serving a FastAPI app whose endpoint does nothing; registers N nodes through the API; then N
simulated nodes beat (keep-alive connections, asyncio, a closed loop of --concurrency requests
in flight) against each server for the same time. The load generator is aiohttp's client, not
httpx: on this 2-core machine httpx's async client tops out near 700 requests/s, so it would
measure itself rather than the server (aiohttp reaches 2,000-4,000 against the no-op).
Prints beats/s and p50/p99 latency of both and
the ratio heartbeat/no-op, which is the figure (targets: >= 2000 beats/s, p99 < 100 ms at 5000
nodes, ratio >= 0.6). Both servers run the same uvicorn set-up: one process, no access log.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from fastapi import FastAPI

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.coordinator import coordinator_env, run_coordinator  # noqa: E402
from tests.fixtures.net import free_port, wait_http  # noqa: E402

noop_app = FastAPI()


@noop_app.post("/noop")
async def noop() -> dict[str, str]:
    """Do nothing: the framework's own cost per request."""
    return {"status": "ok"}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    name: str
    count: int
    seconds: float
    latencies: list[float]
    errors: int
    server_cpu: float = 0.0  # server CPU seconds while measuring
    total: int = 0  # requests answered while measuring

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request: independent of how busy the machine is."""
        return 1000 * self.server_cpu / max(1, self.total)

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _register(session: aiohttp.ClientSession, url: str, code: str, count: int) -> list[str]:
    semaphore = asyncio.Semaphore(32)

    async def one(index: int) -> str:
        body = {
            "invite_code": code,
            "display_name": f"node-{index}",
            "payout_handle": f"node-{index}@example.org",
            "relay_port": 10000 + index % 50000,
        }
        async with semaphore, session.post(f"{url}/api/v1/nodes/register", json=body) as response:
            response.raise_for_status()
            return str((await response.json())["node_token"])

    return await asyncio.gather(*(one(i) for i in range(count)))


async def _hammer(
    url: str,
    pid: int,
    path: str,
    tokens: list[str],
    concurrency: int,
    seconds: float,
    warmup: float,
    profile: str | None = None,
) -> Result:
    body = json.dumps(
        {
            "streams": [{"name": "demo", "live": True, "segments_cached": 6, "viewers": 1}],
            "viewers": 1,
            "bytes_served": 123456,
            "version": "bench",
            "segment_proofs": True,  # as current nodes say (older ones get an update notice)
        }
    ).encode()
    latencies: list[float] = []
    errors = 0
    count = 0
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def beat(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            async with session.post(url + path, data=body, headers=headers) as response:
                await response.read()
                return response.status

        # Warm-up: every node beats once (steady state: each has an open uptime interval),
        # then keep going for `warmup` seconds before measuring.
        async def first_round(offset: int) -> None:
            for token in tokens[offset::concurrency]:
                await beat(token)

        await asyncio.gather(*(first_round(i) for i in range(concurrency)))
        measure_from = time.perf_counter() + warmup
        stop_at = measure_from + seconds
        cpu_before: float | None = None

        async def worker(offset: int) -> None:
            nonlocal errors, count, cpu_before
            index = offset
            while True:
                token = tokens[index % len(tokens)]
                index += concurrency
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                if sent >= measure_from and cpu_before is None:
                    cpu_before = _cpu_seconds(pid)
                    if profile:
                        _profile(pid, seconds, profile)
                status = await beat(token)
                done = time.perf_counter()
                if sent >= measure_from:
                    if status == 200:
                        count += 1
                        latencies.append(done - sent)
                    else:
                        errors += 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    cpu = _cpu_seconds(pid) - (cpu_before or 0.0)
    return Result(path, count, seconds, latencies, errors, cpu, count + errors)


def _profile(pid: int, seconds: float, out: str) -> None:
    """Sample the server with py-spy (a dev tool: `pip install py-spy`) while it is measured."""
    command = ["py-spy", "record", "-p", str(pid), "-d", str(max(1, int(seconds) - 1)), "-r", "250"]
    command += ["--nonblocking", "-f", "raw", "-o", out]
    try:
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        print("--profile needs py-spy on PATH (pip install py-spy)", flush=True)


def _start_noop() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.heartbeats:noop_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=coordinator_env(),
        cwd=REPO,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/docs")
    return process, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument(
        "--profile", metavar="FILE", help="py-spy samples of the coordinator (collapsed stacks)"
    )
    args = parser.parse_args()
    env = {
        "STREAMR_RATE_LIMIT_IP": "100000000/minute",
        "STREAMR_RATE_LIMIT_REGISTER": "100000000/minute",
        "STREAMR_RATE_LIMIT_NODE": "100000000/minute",
    }
    with tempfile.TemporaryDirectory() as tmp, run_coordinator(Path(tmp), env=env) as coord:
        coord.cli(
            "stream",
            "add",
            "demo",
            "--origin",
            "http://127.0.0.1:9/live/demo.m3u8",
            "--pool-per-hour",
            "36",
        )
        invites_needed = (args.nodes + 9999) // 10000
        tokens: list[str] = []

        async def register_all() -> None:
            async with aiohttp.ClientSession() as session:
                for batch in range(invites_needed):
                    size = min(10000, args.nodes - batch * 10000)
                    code = coord.invite("--uses", str(size)).rsplit("/", 1)[1]
                    tokens.extend(await _register(session, coord.url, code, size))

        began = time.perf_counter()
        asyncio.run(register_all())
        print(f"registered {len(tokens)} nodes in {time.perf_counter() - began:.1f} s", flush=True)
        beats = asyncio.run(
            _hammer(
                coord.url,
                coord.process.pid,
                "/api/v1/nodes/heartbeat",
                tokens,
                args.concurrency,
                args.seconds,
                args.warmup,
                args.profile,
            )
        )
        warnings = [line for line in coord.log().splitlines() if "WARNING" in line]
        if warnings:
            print(f"{len(warnings)} warnings in the coordinator's log, e.g.: {warnings[0]}")
        rows = coord.cli("nodes", "list", "--json").stdout.count('"state": "healthy"')
        print(f"nodes healthy after the run: {rows}", flush=True)
    noop_process, noop_url = _start_noop()
    try:
        noop = asyncio.run(
            _hammer(
                noop_url,
                noop_process.pid,
                "/noop",
                tokens,
                args.concurrency,
                args.seconds,
                args.warmup,
            )
        )
    finally:
        noop_process.terminate()
        noop_process.wait(timeout=10)

    print()
    print(
        f"{args.nodes} nodes, {args.concurrency} requests in flight, {args.seconds:.0f} s each, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'endpoint':<26}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'server CPU ms/req':>19}"
    )
    for result in (beats, noop):
        print(
            f"{result.name:<26}{result.rate:>8.0f}{result.pct(0.50):>9.1f}"
            f"{result.pct(0.99):>9.1f}{result.errors:>8}{result.cpu_ms:>19.3f}"
        )
    print(
        f"ratio heartbeat / no-op: {beats.rate / noop.rate:.2f}  "
        f"(targets: >= 2000 beats/s, p99 < 100 ms, ratio >= 0.6)"
    )
    print(
        f"ratio by server CPU per request (no-op / heartbeat): {noop.cpu_ms / beats.cpu_ms:.2f}"
        "  (the same figure, less sensitive to other load on the machine)"
    )
    print(f"median beat latency: {statistics.median(beats.latencies) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
