"""Reliability fixtures: a fresh PostgreSQL database per run, a Redis DB of our own, nodes."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.fixtures.net import uncontacted_relay_port
from tests.fixtures.postgres import fresh_postgres_or_skip

REDIS_URL = "redis://127.0.0.1:6379/13"  # a DB number no other test area uses


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """An empty PostgreSQL database for this module (dropped afterwards)."""
    with fresh_postgres_or_skip("streamr_rel") as url:
        yield url


@pytest.fixture(scope="module")
def redis_url() -> str:
    """Our Redis DB, emptied."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.skip(f"!!! Redis on 127.0.0.1:6379 does not answer ({exc}): SKIPPED")
    finally:
        client.close()
    return REDIS_URL


@dataclass
class FakeNode:
    """A registered node as the test sees it: its token and every beat acknowledged to it."""

    node_id: str
    token: str
    acked: list[datetime]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def register(client: httpx.Client, url: str, invite_code: str, name: str) -> FakeNode:
    """Join with `invite_code` through `url`; raise unless 201."""
    response = client.post(
        f"{url}/api/v1/nodes/register",
        json={
            "invite_code": invite_code,
            "display_name": name,
            "payout_handle": f"@{name}",
            # relay URLs are scheme, host and port only, one endpoint per node
            "relay_url": f"http://127.0.0.1:{uncontacted_relay_port()}",
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return FakeNode(body["node_id"], body["node_token"], [])


def beat(client: httpx.Client, url: str, node: FakeNode) -> httpx.Response:
    """Send one heartbeat; on 200 remember the coordinator's time of it."""
    response = client.post(f"{url}/api/v1/nodes/heartbeat", json={}, headers=node.headers)
    if response.status_code == 200:
        node.acked.append(datetime.fromisoformat(response.json()["server_time"]))
    return response
