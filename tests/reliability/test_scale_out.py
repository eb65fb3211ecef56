"""Several `serve` replicas on one PostgreSQL and one Redis behind a round-robin balancer."""

import asyncio
import itertools
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fixtures.balancer import Balancer, round_robin_balancer
from tests.fixtures.coordinator import RunningCoordinator
from tests.fixtures.origin import live_origin
from tests.fixtures.postgres import pg_dsn
from tests.fixtures.replicas import run_replicas
from tests.reliability.conftest import FakeNode, beat, register
from tests.trust.nodes import BeatingNode

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REPLICAS = 3
NODE_LIMIT = 30  # heartbeats per node token per minute, shared by every replica through Redis
HEARTBEAT_S = 1  # grace: 2.5 s
PROBE_S = 1.0  # mean time between probes of a node; each gap is cut to [0.1, 3] × the mean


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str, redis_url: str
) -> Iterator[tuple[list[RunningCoordinator], Balancer]]:
    """Three replicas started at the same moment on an empty database, behind a balancer."""
    tmp_path = tmp_path_factory.mktemp("cluster")
    env = {
        "STREAMR_RATE_LIMIT_NODE": f"{NODE_LIMIT}/minute",
        "STREAMR_RATE_LIMIT_IP": "100000/minute",
        "STREAMR_RATE_LIMIT_REGISTER": "100000/minute",
    }
    flags = (
        "--redis-url",
        redis_url,
        "--heartbeat-interval",
        str(HEARTBEAT_S),
        "--probe-interval",
        str(PROBE_S),
        "--allow-private-relays",
    )
    with (
        run_replicas(tmp_path, REPLICAS, pg_url, *flags, env=env) as replicas,
        round_robin_balancer([r.url for r in replicas]) as balancer,
    ):
        yield replicas, balancer


def _invite(replica: RunningCoordinator, uses: int) -> str:
    code: str = replica.admin_post("/api/v1/admin/invites", {"uses": uses})["code"]
    return code


async def _query(url: str, sql: str, *args: Any) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(pg_dsn(url), timeout=5)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def _uptime(url: str, node_id: str) -> list[Any]:
    return asyncio.run(
        _query(
            url,
            "SELECT started_at, ended_at FROM uptime_intervals"
            " WHERE node_id = $1 AND stream_id IS NULL ORDER BY started_at",
            node_id,
        )
    )


def _covered(node: FakeNode, intervals: list[Any]) -> None:
    for at in node.acked:
        assert any(row["started_at"] <= at <= row["ended_at"] for row in intervals), (
            f"acknowledged beat at {at} of {node.node_id} is in no interval: {intervals}"
        )


def test_replicas_started_together_migrate_the_empty_database_once(
    cluster: tuple[list[RunningCoordinator], Balancer], pg_url: str
) -> None:
    replicas, _ = cluster
    for replica in replicas:
        assert httpx.get(f"{replica.url}/healthz", timeout=5).status_code == 200
        assert "Traceback" not in replica.log()
    versions = asyncio.run(_query(pg_url, "SELECT version_num FROM alembic_version"))
    assert len(versions) == 1


def test_heartbeats_alternating_replicas_extend_one_interval_per_node(
    cluster: tuple[list[RunningCoordinator], Balancer], pg_url: str
) -> None:
    replicas, balancer = cluster
    code = _invite(replicas[0], uses=12)
    before = dict(balancer.served)
    with httpx.Client(timeout=10) as client:
        nodes = [register(client, balancer.url, code, f"n{i}") for i in range(12)]

    def run(node: FakeNode) -> None:
        with httpx.Client(timeout=10) as client:
            for round_ in range(8):
                assert beat(client, balancer.url, node).status_code == 200
                # two beats of one node at the same moment on two replicas
                if round_ == 4:
                    with ThreadPoolExecutor(2) as pair:
                        answers = list(pair.map(lambda r: beat(client, r.url, node), replicas[:2]))
                    assert [a.status_code for a in answers] == [200, 200]
                time.sleep(0.05)

    with ThreadPoolExecutor(len(nodes)) as pool:
        list(pool.map(run, nodes))
    served = {url: balancer.served[url] - before.get(url, 0) for url in balancer.backends}
    assert all(count >= 20 for count in served.values()), served  # every replica took beats
    for node in nodes:
        intervals = _uptime(pg_url, node.node_id)
        assert len(intervals) == 1, f"{node.node_id} has {len(intervals)} intervals"
        _covered(node, intervals)


def test_node_back_after_a_gap_gets_one_new_interval_whichever_replica_hears_it(
    cluster: tuple[list[RunningCoordinator], Balancer], pg_url: str
) -> None:
    replicas, _ = cluster
    code = _invite(replicas[0], uses=1)
    with httpx.Client(timeout=10) as client:
        node = register(client, replicas[0].url, code, "gap")
        for replica in replicas:  # every replica now knows the open interval
            assert beat(client, replica.url, node).status_code == 200
        time.sleep(HEARTBEAT_S * 2.5 + 0.7)  # longer than the grace: the node was away
        for replica in [replicas[1], replicas[0], replicas[2], replicas[0]]:
            assert beat(client, replica.url, node).status_code == 200
    intervals = _uptime(pg_url, node.node_id)
    assert len(intervals) == 2, intervals
    _covered(node, intervals)
    gap = (intervals[1]["started_at"] - intervals[0]["ended_at"]).total_seconds()
    assert gap > HEARTBEAT_S * 2.5


def test_rate_limit_of_a_node_is_shared_by_every_replica(
    cluster: tuple[list[RunningCoordinator], Balancer],
) -> None:
    replicas, balancer = cluster
    code = _invite(replicas[0], uses=1)
    with httpx.Client(timeout=10) as client:
        node = register(client, balancer.url, code, "flood")
        statuses = [beat(client, balancer.url, node).status_code for _ in range(NODE_LIMIT + 15)]
    assert statuses.count(200) == NODE_LIMIT, statuses
    assert statuses.count(429) == 15
    assert statuses[:NODE_LIMIT] == [200] * NODE_LIMIT


def test_admin_reads_agree_on_every_replica(
    cluster: tuple[list[RunningCoordinator], Balancer],
) -> None:
    replicas, _ = cluster
    listings = [
        sorted(n["node_id"] for n in replica.admin_get("/api/v1/admin/nodes"))
        for replica in replicas
    ]
    assert listings[0] and all(listing == listings[0] for listing in listings)


async def test_each_node_is_probed_once_per_cycle_across_replicas(
    cluster: tuple[list[RunningCoordinator], Balancer], pg_url: str
) -> None:
    replicas, balancer = cluster
    nodes = [BeatingNode(balancer.url, f"probed{i}") for i in range(4)]
    async with live_origin("main") as origin:
        replicas[0].admin_post(
            "/api/v1/admin/streams",
            {"name": "main", "origin_url": origin.url("main"), "pool_per_hour_minor": 3600},
        )
        link = await asyncio.to_thread(replicas[0].invite, "--uses", str(len(nodes)))
        try:
            for node in nodes:
                await node.join(link, await node.start_real_relay())
                node.start_beating()
            await asyncio.sleep(10)
            stopped_at = datetime.now(UTC)
            # read the states while the nodes still beat: once closed they turn silent
            admin_nodes = await asyncio.to_thread(replicas[1].admin_get, "/api/v1/admin/nodes")
        finally:
            for node in nodes:
                await node.close()
    floor = 0.1 * PROBE_S
    for node in nodes:
        rows = await _query(
            pg_url, "SELECT at, ok, reason FROM probes WHERE node_id = $1 ORDER BY at", node.node_id
        )
        assert len(rows) >= 3, f"{node.name} was probed {len(rows)} times"
        gaps = [(b["at"] - a["at"]).total_seconds() for a, b in itertools.pairwise(rows)]
        # a second replica probing the same cycle would show as a gap of a few milliseconds
        assert min(gaps) > floor * 0.5, f"{node.name} probed twice in one cycle: {gaps}"
        # before its relay has the first segments a new node may fail a probe; after, never
        first_ok = next(r["at"] for r in rows if r["ok"])
        failed = [tuple(r) for r in rows if not r["ok"] and first_ok < r["at"] < stopped_at]
        assert not failed, f"{node.name}: {failed}"
    states = {n["node_id"]: n["state"] for n in admin_nodes}
    assert all(states[node.node_id] == "healthy" for node in nodes), states


def test_a_payout_is_computed_once_however_many_replicas_are_asked(
    cluster: tuple[list[RunningCoordinator], Balancer], pg_url: str
) -> None:
    replicas, _ = cluster
    now = datetime.now(UTC).replace(microsecond=0)
    for round_ in range(4):  # several races, each on its own period
        start = now - timedelta(hours=round_ + 1)
        body = {
            "period_from": start.isoformat(),
            "period_to": (start + timedelta(hours=1)).isoformat(),
        }
        with ThreadPoolExecutor(len(replicas)) as pool:
            answers = list(
                pool.map(
                    lambda r, body=body: httpx.post(
                        f"{r.url}/api/v1/admin/payouts/compute",
                        json=body,
                        headers=r.admin_headers(),
                        timeout=30,
                    ),
                    replicas,
                )
            )
        codes = sorted(a.status_code for a in answers)
        assert codes == [201] + [409] * (len(replicas) - 1), [a.text for a in answers]
    stored = asyncio.run(_query(pg_url, "SELECT count(*) AS n FROM payouts"))
    assert stored[0]["n"] == 4
