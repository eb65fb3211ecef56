"""Compute one payout for 10,000 nodes × 24 h of uptime intervals, on SQLite and PostgreSQL.

Target: < 2 s per database (the reference). Prints the seconds and the ratio to the target.
Usage: python benchmarks/payouts.py [--nodes N] [--postgres-url URL] [--skip-postgres]
"""

import argparse
import asyncio
import random
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from coordinator_service.ledger.payouts import compute_payout
from coordinator_service.storage.models import (
    Base,
    FlagInterval,
    Node,
    Stream,
    StreamLiveInterval,
    UptimeInterval,
)

TARGET_S = 2.0
DAY = 24 * 3600
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def node_sessions(rnd: random.Random) -> list[tuple[int, int]]:
    """Return a friend's day: online 20 min – 6 h at a time, gaps of 1 – 90 min."""
    spans = []
    cursor = rnd.randint(0, 3 * 3600)
    while cursor < DAY:
        length = rnd.randint(20 * 60, 6 * 3600)
        spans.append((cursor, min(DAY, cursor + length)))
        cursor += length + rnd.randint(60, 90 * 60)
    return spans


async def seed(url: str, nodes: int, connect_args: dict[str, object]) -> int:
    engine = create_async_engine(url, connect_args=connect_args)
    rnd = random.Random(42)
    rows = 0
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(
            insert(Stream),
            [
                {
                    "id": 1,
                    "name": "main",
                    "origin_url": "http://origin/live/main.m3u8",
                    "pool_per_hour_minor": 5000,
                    "currency": "USD",
                    "created_at": T0,
                }
            ],
        )
        await conn.execute(
            insert(StreamLiveInterval),
            [
                {"stream_id": 1, "started_at": at(s), "ended_at": at(e)}
                for s, e in [(0, 8 * 3600), (8 * 3600 + 600, 20 * 3600), (20 * 3600 + 60, DAY)]
            ],
        )
        node_rows, uptime_rows, flag_rows = [], [], []
        for i in range(nodes):
            node_id = f"n{i:05d}"
            node_rows.append(
                {
                    "id": node_id,
                    "token_hash": secrets.token_hex(32),
                    "probe_key": "k",
                    "display_name": f"Friend {i}",
                    "payout_handle": f"@friend{i}",
                    "relay_url": f"http://198.51.{i // 250}.{i % 250}:8080",
                    "created_at": T0 - timedelta(days=30),
                    "reputation_alpha": 20.0,
                }
            )
            for s, e in node_sessions(rnd):
                for stream_id in (None, 1):
                    uptime_rows.append(
                        {
                            "node_id": node_id,
                            "stream_id": stream_id,
                            "started_at": at(s),
                            "ended_at": at(e),
                        }
                    )
            if rnd.random() < 0.02:
                start = rnd.randint(0, DAY - 3600)
                flag_rows.append(
                    {"node_id": node_id, "started_at": at(start), "ended_at": at(start + 1800)}
                )
        for table, batch in (
            (Node, node_rows),
            (UptimeInterval, uptime_rows),
            (FlagInterval, flag_rows),
        ):
            for k in range(0, len(batch), 5000):
                await conn.execute(insert(table), batch[k : k + 5000])
        rows = len(uptime_rows)
        # intervals of the day before and after, which the query must skip
        await conn.execute(
            insert(UptimeInterval),
            [
                {
                    "node_id": f"n{i:05d}",
                    "stream_id": 1,
                    "started_at": at(-DAY + 100),
                    "ended_at": at(-DAY + 5000),
                }
                for i in range(nodes)
            ],
        )
    await engine.dispose()
    return rows


async def measure(
    url: str, nodes: int, connect_args: dict[str, object]
) -> tuple[float, float, int, int]:
    rows = await seed(url, nodes, connect_args)
    engine = create_async_engine(url, connect_args=connect_args)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    started, cpu = time.perf_counter(), time.process_time()
    async with sessions() as session:
        view = await compute_payout(session, at(0), at(DAY), "main", now=at(DAY + 60))
        await session.commit()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    await engine.dispose()
    assert sum(line.amount_minor for line in view.lines) == view.pool_minor
    return elapsed, cpu, rows, len(view.lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        elapsed, cpu, rows, lines = await measure(url, args.nodes, {})
        print(
            f"payout sqlite: {args.nodes} nodes, {rows} uptime rows -> {lines} lines in "
            f"{elapsed:.2f} s, CPU {cpu:.2f} s "
            f"(target {TARGET_S:.0f} s, ratio {elapsed / TARGET_S:.2f})"
        )
    if args.skip_postgres:
        return
    schema = "bench_" + secrets.token_hex(4)
    admin = create_async_engine(args.postgres_url)
    async with admin.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        elapsed, cpu, rows, lines = await measure(
            args.postgres_url, args.nodes, {"server_settings": {"search_path": schema}}
        )
        print(
            f"payout postgresql: {args.nodes} nodes, {rows} uptime rows -> {lines} lines in "
            f"{elapsed:.2f} s, CPU {cpu:.2f} s "
            f"(target {TARGET_S:.0f} s, ratio {elapsed / TARGET_S:.2f})"
        )
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
