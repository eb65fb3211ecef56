"""`kill -9` of the coordinator under load: nothing acknowledged is lost, the outage shows.

Load: 16 nodes beating every 50 ms, new nodes joining, 3 nodes with real relays in front of a
live ffmpeg origin being probed, and the host computing a payout every few hundred ms. The
coordinator is killed without warning, stays down longer than the heartbeat grace, restarts.
Then every join, beat, probe and payout the clients saw acknowledged must be in the database,
the database must pass its integrity checks, and the nodes' uptime must show the outage.
"""

import asyncio
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fixtures.coordinator import _stop, _wait_ready
from tests.fixtures.net import free_port
from tests.fixtures.origin import origin_process
from tests.fixtures.replicas import start_serve
from tests.reliability.conftest import register
from tests.reliability.integrity import check_integrity, node_ids, query, uptime
from tests.reliability.load import Load
from tests.trust.nodes import BeatingNode

pytestmark = pytest.mark.slow

GRACE_S = 2.5  # --heartbeat-interval 1 × grace factor 2.5
ENV = {
    "STREAMR_RATE_LIMIT_NODE": "100000/minute",
    "STREAMR_RATE_LIMIT_IP": "100000/minute",
    "STREAMR_RATE_LIMIT_REGISTER": "100000/minute",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'coordinator.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


class PayoutLoad:
    """The host computing payouts of successive past minutes; keeps each acknowledged one."""

    def __init__(self, url: str, admin: dict[str, str]) -> None:
        self.url, self.admin = url, admin
        self.acked: dict[str, list[tuple[str, int]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "PayoutLoad":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                body = {
                    "period_from": start.isoformat(),
                    "period_to": (start + timedelta(minutes=1)).isoformat(),
                }
                try:
                    answer = client.post(
                        f"{self.url}/api/v1/admin/payouts/compute", json=body, headers=self.admin
                    )
                except httpx.HTTPError:
                    answer = None
                if answer is not None and answer.status_code == 201:
                    payout = answer.json()
                    self.acked[payout["payout_id"]] = [
                        (line["node_id"], line["amount_minor"]) for line in payout["lines"]
                    ]
                if answer is not None and answer.status_code in (201, 409):
                    start += timedelta(minutes=1)
                time.sleep(0.2)


def _probes(url: str, admin: dict[str, str]) -> set[tuple[str, str, bool]]:
    answer = httpx.get(f"{url}/api/v1/admin/probes?limit=1000", headers=admin, timeout=10)
    answer.raise_for_status()
    return {(p["node_id"], p["at"], p["ok"]) for p in answer.json()}


def _stored_probes(database_url: str) -> set[tuple[str, datetime, bool]]:
    rows = query(database_url, "SELECT node_id, at, ok FROM probes")
    out = set()
    for node_id, at, ok in rows:
        when = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        out.add((node_id, _naive(when.replace(tzinfo=when.tzinfo or UTC)), bool(ok)))
    return out


async def test_kill_9_under_load_loses_nothing_acknowledged_and_shows_the_outage(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    flags = (
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--heartbeat-interval",
        "1",
        "--probe-interval",
        "0.5",
        "--allow-private-relays",
    )
    log_path = tmp_path / "serve.log"
    process = start_serve(data_dir, log_path, *flags, env=ENV)
    load: Load | None = None
    payouts: PayoutLoad | None = None
    relays = [BeatingNode(url, f"relay{i}") for i in range(3)]
    seen_probes: set[tuple[str, str, bool]] = set()
    with origin_process(tmp_path, "main") as origins:
        try:
            await asyncio.to_thread(_wait_ready, process, log_path, 60)
            token = (data_dir / "admin-token").read_text().strip()
            admin = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=url, timeout=10, headers=admin) as client:
                stream = {
                    "name": "main",
                    "origin_url": origins["main"],
                    "pool_per_hour_minor": 3600,
                }
                assert (await client.post("/api/v1/admin/streams", json=stream)).status_code == 201
                made = await client.post("/api/v1/admin/invites", json={"uses": 5000})
                code = made.json()["code"]
            link = f"{url}/join/{code}"
            for relay in relays:
                await relay.join(link, await relay.start_real_relay())
                relay.start_beating()
            with httpx.Client(timeout=10) as sync_client:
                nodes = [register(sync_client, url, code, f"n{i}") for i in range(16)]
            load = Load(url, nodes, invite_code=code).start()
            payouts = PayoutLoad(url, admin).start()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (
                len({p[0] for p in seen_probes}) == len(relays)
                and all(len(node.acked) >= 3 for node in nodes)
                and len(payouts.acked) >= 3
            ):
                await asyncio.sleep(0.5)
                seen_probes |= await asyncio.to_thread(_probes, url, admin)
            os.killpg(process.pid, signal.SIGKILL)  # mid-batch, mid-request, mid-probe
            await asyncio.to_thread(process.wait, 10)
            killed_at = datetime.now(UTC)
            await asyncio.sleep(GRACE_S + 1.0)  # the nodes keep trying: connection refused
            restarted_at = datetime.now(UTC)
            process = start_serve(data_dir, log_path, *flags, env=ENV)
            await asyncio.to_thread(_wait_ready, process, log_path, 60)
            await asyncio.sleep(1.5)
        finally:
            for relay in relays:
                await relay.close()
            if load is not None:
                await asyncio.to_thread(load.stop)
            if payouts is not None:
                await asyncio.to_thread(payouts.stop)
            _stop(process)
    assert load is not None and payouts is not None

    await asyncio.to_thread(
        _check_everything, database_url, load, payouts, seen_probes, relays, killed_at, restarted_at
    )


def _check_everything(
    database_url: str,
    load: Load,
    payouts: PayoutLoad,
    seen_probes: set[tuple[str, str, bool]],
    relays: list[BeatingNode],
    killed_at: datetime,
    restarted_at: datetime,
) -> None:
    assert load.failures, "the outage was not seen by the clients"
    assert load.statuses[500] == 0 and load.statuses[503] == 0, load.statuses
    check_integrity(database_url)
    _check_joins_and_beats(database_url, load, killed_at, restarted_at)
    # probes seen through the API before the kill are all stored
    assert {p[0] for p in seen_probes} >= {r.node_id for r in relays}
    stored = _stored_probes(database_url)
    for node_id, at, ok in seen_probes:
        assert (node_id, _naive(datetime.fromisoformat(at)), ok) in stored, "a probe was lost"
    # every acknowledged payout is stored with the same lines
    assert len(payouts.acked) >= 3
    rows = query(database_url, "SELECT payout_id, node_id, amount_minor FROM payout_lines")
    lines: dict[str, list[tuple[str, int]]] = {}
    for payout_id, node_id, amount in rows:
        lines.setdefault(payout_id, []).append((node_id, int(amount)))
    stored_ids = {row[0] for row in query(database_url, "SELECT id FROM payouts")}
    for payout_id, acked_lines in payouts.acked.items():
        assert payout_id in stored_ids, "an acknowledged payout was lost"
        assert sorted(lines.get(payout_id, [])) == sorted(acked_lines)
    beats = sum(len(node.acked) for node in load.nodes + load.joined)
    print(
        f"\nacknowledged and found after kill -9: {beats} beats, {len(load.joined)} joins, "
        f"{len(seen_probes)} probes, {len(payouts.acked)} payouts; lost: 0"
    )


def _check_joins_and_beats(
    database_url: str, load: Load, killed_at: datetime, restarted_at: datetime
) -> None:
    stored = node_ids(database_url)
    joined = [node.node_id for node in load.joined]
    assert len(joined) > 5
    assert set(joined) <= stored, "an acknowledged registration was lost"
    intervals = uptime(database_url)
    outage_mid = _naive(killed_at + (restarted_at - killed_at) / 2)
    acked = 0
    for node in load.nodes:
        before = [at for at in node.acked if at < killed_at]
        after = [at for at in node.acked if at > restarted_at]
        assert before and after, (
            f"{node.node_id} did not beat on both sides: {len(before)}, {len(after)}, "
            f"{load.statuses}, {load.failures}, {killed_at}, {node.acked[:3]}"
        )
        spans = intervals[node.node_id]
        for at in node.acked:
            acked += 1
            assert any(start <= _naive(at) <= end for start, end in spans), (
                f"acknowledged beat {at} of {node.node_id} is lost: {spans}"
            )
        assert not any(start <= outage_mid <= end for start, end in spans), (
            f"uptime of {node.node_id} hides the outage: {spans}"
        )
        gap = _naive(min(after)) - _naive(max(before))
        assert gap > timedelta(seconds=GRACE_S)
    assert acked > 50
