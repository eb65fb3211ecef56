"""What telling each node why its time was (not) credited costs, at 10,000 nodes × 24 h (SQLite).

The period estimate every node's earnings request shares (`EstimateCache`, 5 s) now runs its
tally with a `CreditTrace`; each `GET /api/v1/nodes/me/earnings?credit=1` then reads only that
node's time up (`explain.explain_node`). Prints the tally without and with the trace (wall and
CPU medians, alternated, traced first) and one node's explanation from the shared estimate
(median and max over 50 nodes).
Usage: python benchmarks/credit_reasons.py [--nodes N] [--runs R]
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from benchmarks.payouts import DAY, at, seed
from coordinator_service.ledger.earnings import estimate
from coordinator_service.ledger.explain import explain_node
from coordinator_service.ledger.friend_reasons import credit_breakdown
from coordinator_service.ledger.tally import CreditTrace, tally


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/credit.db"
        rows = await seed(url, args.nodes, {})
        engine = create_async_engine(url)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        plain: list[tuple[float, float]] = []
        traced: list[tuple[float, float]] = []
        async with sessions() as session:
            for _ in range(args.runs):
                for runs, trace in ((traced, CreditTrace()), (plain, None)):
                    started, cpu = time.perf_counter(), time.process_time()
                    await tally(session, at(0), at(DAY), None, trace)
                    runs.append((time.perf_counter() - started, time.process_time() - cpu))
            shared = await estimate(session, at(0), at(DAY), traced=True)
            assert shared.trace is not None
            one = []
            for i in range(0, args.nodes, max(1, args.nodes // 50)):
                started = time.perf_counter()
                credit = await explain_node(
                    session, f"n{i:05d}", at(0), at(DAY), shared.credited, shared.trace
                )
                credit_breakdown(credit)
                one.append(time.perf_counter() - started)
        await engine.dispose()
    print(f"{args.nodes} nodes, {rows} uptime rows, SQLite")
    for what, runs in (("plain", plain), ("traced", traced)):
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"tally {what}: {wall:.3f} s (CPU {cpu:.3f} s), median of {len(runs)}")
    print(
        f"one node's explanation from the shared estimate: median "
        f"{statistics.median(one) * 1000:.2f} ms, max {max(one) * 1000:.2f} ms ({len(one)} nodes)"
    )


if __name__ == "__main__":
    asyncio.run(main())
