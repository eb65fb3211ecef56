"""Heartbeats of 10,000 simulated nodes against 1 and then 2 coordinator replicas on PostgreSQL.

Each replica is a real `serve` process; both share one fresh PostgreSQL database and one Redis
(rate-limit counters, as in production). The client spreads requests round-robin over the
replicas (an L4 balancer's job) from `--concurrency` connections, each cycling through its share
of the nodes, for `--seconds` after a warm-up. Prints beats/s and p50/p99 latency per replica
count, and the figure: throughput with 2 replicas / with 1 (reference: 1.0, no gain).
Also prints how many nodes at a 30 s interval each setup carries (beats/s × 30).

Usage: python benchmarks/scale.py [--nodes N] [--seconds S] [--concurrency C] [--replicas 1 2]
"""

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from coordinator_service.services.tokens import hash_secret, new_id
from coordinator_service.storage.models import Node
from tests.fixtures.postgres import fresh_postgres
from tests.fixtures.replicas import run_replicas

REDIS_URL = "redis://127.0.0.1:6379/14"
ENV = {
    "STREAMR_RATE_LIMIT_NODE": "1000000/minute",
    "STREAMR_RATE_LIMIT_IP": "100000000/minute",
    "STREAMR_RATE_LIMIT_REGISTER": "1000000/minute",
    "STREAMR_LOG_LEVEL": "warning",
}


async def seed(url: str, count: int) -> list[str]:
    """Insert `count` nodes straight into the database; return their tokens."""
    engine = create_async_engine(url)
    tokens = [f"bench-{secrets.token_urlsafe(24)}" for _ in range(count)]
    now = datetime.now(UTC)
    rows = [
        {
            "id": new_id(),
            "token_hash": hash_secret(token),
            "probe_key": secrets.token_hex(16),
            "display_name": f"node {index}",
            "payout_handle": f"@n{index}",
            "relay_url": f"http://203.0.113.{index % 250 + 1}:{8000 + index % 1000}",
            "created_at": now,
        }
        for index, token in enumerate(tokens)
    ]
    async with engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            await conn.execute(insert(Node), rows[start : start + 2000])
    await engine.dispose()
    return tokens


async def clear_uptime(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE uptime_intervals"))
    await engine.dispose()


async def hammer(
    urls: list[str], tokens: list[str], concurrency: int, warmup: float, seconds: float
) -> tuple[int, int, list[float]]:
    """Beat from `concurrency` workers; return (ok, failed, latencies ms) of the measured span."""
    latencies: list[float] = []
    counts = {"ok": 0, "failed": 0}
    start = time.perf_counter()
    measure_from = start + warmup
    end = measure_from + seconds
    turn = 0
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:

        async def worker(index: int) -> None:
            nonlocal turn
            mine = tokens[index::concurrency]
            position = 0
            while True:
                now = time.perf_counter()
                if now >= end:
                    return
                token = mine[position % len(mine)]
                position += 1
                url = urls[turn % len(urls)]
                turn += 1
                sent = time.perf_counter()
                try:
                    async with session.post(
                        f"{url}/api/v1/nodes/heartbeat",
                        json={"bytes_served": position, "viewers": 1},
                        headers={"Authorization": f"Bearer {token}"},
                    ) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                done = time.perf_counter()
                if sent >= measure_from and done <= end:
                    counts["ok" if ok else "failed"] += 1
                    if ok:
                        latencies.append((done - sent) * 1000)

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return counts["ok"], counts["failed"], latencies


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by the processes `pids` (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")

    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    results: dict[int, float] = {}
    with fresh_postgres("streamr_bench") as url, tempfile.TemporaryDirectory() as tmp:
        # one replica creates the schema, then the nodes go in
        with run_replicas(Path(tmp) / "schema", 1, url, env=ENV):
            pass
        tokens = asyncio.run(seed(url, args.nodes))
        print(f"{args.nodes} nodes seeded; {args.concurrency} connections; {args.seconds:.0f} s")
        for count in args.replicas:
            asyncio.run(clear_uptime(url))
            flags = ("--redis-url", REDIS_URL, "--heartbeat-interval", "30")
            with run_replicas(Path(tmp) / f"r{count}", count, url, *flags, env=ENV) as replicas:
                pids = [r.process.pid for r in replicas]
                cpu_before = cpu_seconds(pids)
                ok, failed, lat = asyncio.run(
                    hammer(
                        [r.url for r in replicas],
                        tokens,
                        args.concurrency,
                        args.warmup,
                        args.seconds,
                    )
                )
                cpu = cpu_seconds(pids) - cpu_before
            rate = ok / args.seconds
            results[count] = rate
            print(
                f"{count} replica(s): {rate:,.0f} beats/s, p50 {p(lat, 0.5):.1f} ms, "
                f"p99 {p(lat, 0.99):.1f} ms, failed {failed}; "
                f"coordinator CPU {cpu * 1000 / max(ok, 1):.2f} ms/beat; "
                f"carries {rate * 30:,.0f} nodes at a 30 s interval"
            )
    if 1 in results and len(results) > 1:
        top = max(results)
        print(
            f"figure: {top} replicas / 1 replica = {results[top] / results[1]:.2f}x "
            "(reference 1.0 = no gain)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
