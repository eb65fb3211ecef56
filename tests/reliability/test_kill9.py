"""`kill -9` of the coordinator under load: nothing acknowledged is lost, the outage shows."""

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fixtures.coordinator import _stop, _wait_ready
from tests.fixtures.net import free_port
from tests.fixtures.replicas import start_serve
from tests.reliability.conftest import register
from tests.reliability.integrity import check_integrity, node_ids, uptime
from tests.reliability.load import Load

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


def test_kill_9_under_load_loses_nothing_acknowledged_and_shows_the_outage(
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
        "--allow-private-relays",
    )
    log_path = tmp_path / "serve.log"
    process = start_serve(data_dir, log_path, *flags, env=ENV)
    load: Load | None = None
    try:
        _wait_ready(process, log_path, 60)
        token = (data_dir / "admin-token").read_text().strip()
        admin = {"Authorization": f"Bearer {token}"}
        with httpx.Client(timeout=10) as client:
            invite = client.post(f"{url}/api/v1/admin/invites", json={"uses": 5000}, headers=admin)
            code = invite.json()["code"]
            nodes = [register(client, url, code, f"n{i}") for i in range(16)]
        load = Load(url, nodes, invite_code=code).start()
        time.sleep(1.5)
        os.killpg(process.pid, signal.SIGKILL)  # mid-batch, mid-request: no goodbye
        process.wait(timeout=10)
        killed_at = datetime.now(UTC)
        time.sleep(GRACE_S + 1.0)  # the nodes keep trying: connection refused
        restarted_at = datetime.now(UTC)
        process = start_serve(data_dir, log_path, *flags, env=ENV)
        _wait_ready(process, log_path, 60)
        time.sleep(1.5)
        load.stop()
    finally:
        if load is not None:
            load.stop()
        _stop(process)

    assert load.failures, "the outage was not seen by the clients"
    assert load.statuses[500] == 0 and load.statuses[503] == 0, load.statuses
    check_integrity(database_url)
    stored = node_ids(database_url)
    joined = [node.node_id for node in load.joined]
    assert len(joined) > 5
    assert set(joined) <= stored, "an acknowledged registration was lost"
    intervals = uptime(database_url)
    outage_mid = _naive(killed_at + (restarted_at - killed_at) / 2)
    acked = 0
    for node in nodes:
        before = [at for at in node.acked if at < killed_at]
        after = [at for at in node.acked if at > restarted_at]
        assert before and after, f"{node.node_id} did not beat on both sides of the outage"
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
