"""Time every dashboard page at 1,000 nodes (with probes and 24 h of uptime) on SQLite.

Target: each page < 200 ms of server time (the reference). The real coordinator app (its
middleware, migrations and the dashboard's sign-in) is driven in-process through ASGITransport,
so the time is the server's: route, queries, template. Prints each page's median and worst
wall time of N runs, and its median CPU time (all threads of the process, SQLite's included: the
figure that does not grow when other jobs share the machine), and the ratio of the slowest
median wall time to the target.
Usage: python benchmarks/dashboard.py [--nodes N] [--probes P] [--runs R] [--postgres]
(--postgres: a fresh database on the PostgreSQL server at 127.0.0.1:5432, dropped afterwards.)
"""

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from coordinator_service.api.app import create_app
from coordinator_service.api.state import context
from coordinator_service.config import Settings
from coordinator_service.dashboard import stats
from tests.dashboard.conftest import csrf_of
from tests.dashboard.seed import seed

TARGET_MS = 200.0


async def run(nodes: int, probes: int, runs: int, database_url: str | None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=database_url or "",
            heartbeat_interval=30,
            rate_limit_ip="1000000/minute",
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            ctx = context(app)
            now = datetime.now(UTC)
            started = time.perf_counter()
            async with ctx.db.transaction() as db:
                await seed(db, nodes=nodes, probes_per_node=probes, now=now)
            print(
                f"seeded {nodes} nodes × {probes} probes + 24 h of uptime in "
                f"{time.perf_counter() - started:.1f} s ({settings.database_url.split(':')[0]})"
            )
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                login = await client.get("/login")
                await client.post(
                    "/login", data={"token": ctx.admin_token, "csrf_token": csrf_of(login.text)}
                )
                csrf = csrf_of((await client.get("/payouts")).text)
                top = now.replace(minute=0, second=0, microsecond=0)
                period = {
                    "csrf_token": csrf,
                    "stream": "main",
                    "period_from": (top - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M"),
                    "period_to": top.strftime("%Y-%m-%dT%H:%M"),
                }
                pages: list[tuple[str, str, dict[str, str] | None]] = [
                    ("overview", "/", None),
                    ("streams", "/streams", None),
                    ("nodes (first 100)", "/nodes", None),
                    ("nodes (page 10)", f"/nodes?page={max(1, nodes // 100)}", None),
                    ("nodes filtered: flagged", "/nodes?state=flagged", None),
                    ("node detail", "/nodes/n00003", None),
                    ("invites", "/invites", None),
                    ("payouts", "/payouts", None),
                    (f"payout preview ({nodes} nodes, 24 h)", "/payouts/preview", period),
                    (
                        "credit reasons (loaded into the preview)",
                        "/payouts/reasons?"
                        + urlencode({k: v for k, v in period.items() if k != "csrf_token"}),
                        None,
                    ),
                    ("watch page", "/watch/main", None),
                    (
                        "relay owner JSON",
                        "/api/v1/watch/main/node?url=http://127.0.0.1:20002/x",
                        None,
                    ),
                ]
                pages.append(("leaderboard (public)", "/leaderboard", None))
                async with ctx.db.session() as db:
                    t0 = time.perf_counter()
                    await stats.overview(db, now, ctx.grace.total_seconds(), {})
                print(
                    "overview series counted cold (once per start, by a background job): "
                    f"{(time.perf_counter() - t0) * 1000:.1f} ms"
                )
                worst_median = 0.0
                print(f"{'page':<40} {'median ms':>10} {'worst ms':>10} {'CPU ms':>8}")
                for label, path, form in pages:
                    times, cpu = [], []
                    for _ in range(runs):
                        t0, c0 = time.perf_counter(), time.process_time()
                        if form is None:
                            response = await client.get(path)
                        else:
                            response = await client.post(path, data=form)
                        times.append((time.perf_counter() - t0) * 1000)
                        cpu.append((time.process_time() - c0) * 1000)
                        assert response.status_code == 200, (path, response.status_code)
                    median = statistics.median(times)
                    worst_median = max(worst_median, median)
                    print(
                        f"{label:<40} {median:>10.1f} {max(times):>10.1f} "
                        f"{statistics.median(cpu):>8.1f}"
                    )
    return worst_median


async def on_postgres(nodes: int, probes: int, runs: int) -> float:
    import asyncpg

    name = f"streamr_bench_{secrets.token_hex(4)}"
    admin = "postgresql://postgres@127.0.0.1:5432/test"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        return await run(
            nodes, probes, runs, f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        )
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=50, help="probes per node in 24 h")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    if args.postgres:
        slowest = asyncio.run(on_postgres(args.nodes, args.probes, args.runs))
    else:
        slowest = asyncio.run(run(args.nodes, args.probes, args.runs, None))
    print(
        f"slowest page median: {slowest:.1f} ms; target {TARGET_MS:.0f} ms; "
        f"ratio {slowest / TARGET_MS:.2f}"
    )
    return 0 if slowest < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
