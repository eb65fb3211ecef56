"""A node whose upload cap is above the protocol's bound still beats; build failures are loud."""

import asyncio
import logging

import pytest

from desktop_app.core.client import CoordinatorClient
from desktop_app.core.config import NodeConfig
from desktop_app.core.events import HeartbeatSent, NodeFailed
from desktop_app.core.heartbeat import HeartbeatLoop
from desktop_app.core.node import Node, join
from streamr_protocol import MAX_CAPACITY_KBIT, HeartbeatRequest
from tests.fixtures.coordinator import run_coordinator
from tests.node.helpers import wait_until


@pytest.mark.slow
async def test_an_upload_cap_above_the_bound_is_clamped_and_the_node_beats(tmp_path) -> None:
    with run_coordinator(tmp_path, "--heartbeat-interval", "1") as coord:
        invite = await asyncio.to_thread(coord.invite)
        joined = NodeConfig(data_dir=tmp_path / "node", status_port=0)
        await join(joined, invite, "Fast", "@fast", 8090)  # joined earlier with no cap
        config = NodeConfig(
            data_dir=tmp_path / "node",
            relay_host="127.0.0.1",
            relay_port=0,
            status_port=0,
            upload_cap_mbit=50_000,  # then 50 Gbit/s: above the protocol's 10 Gbit/s
        )
        node = Node(config)
        events: list[object] = []
        node.subscribe(events.append)
        await node.start()
        try:
            await wait_until(lambda: any(isinstance(e, HeartbeatSent) for e in events), 20)
        finally:
            await node.stop()
        nodes = await asyncio.to_thread(coord.admin_get, "/api/v1/admin/nodes")
        assert nodes[0]["capacity_kbit"] == MAX_CAPACITY_KBIT
        assert nodes[0]["last_heartbeat_at"] is not None
        assert not any(isinstance(e, NodeFailed) for e in events)


async def test_a_heartbeat_that_cannot_be_built_is_reported_and_retried(caplog) -> None:
    caplog.set_level(logging.ERROR)
    builds: list[int] = []
    errors: list[str] = []

    def build() -> HeartbeatRequest:
        builds.append(1)
        return HeartbeatRequest.model_validate({"capacity_kbit": MAX_CAPACITY_KBIT + 1})

    async def ignore(*args: object) -> None:
        return None

    client = CoordinatorClient("http://127.0.0.1:9")
    loop = HeartbeatLoop(
        client, build, ignore, lambda *a: None, ignore, on_error=errors.append, backoff_max_s=0.05
    )
    loop.backoff.initial = 0.01
    task = asyncio.create_task(loop.run())
    try:
        await wait_until(lambda: len(builds) >= 3, 10)
        assert not task.done()  # still alive, trying again
    finally:
        task.cancel()
        await client.aclose()
    assert errors and errors[0].startswith("cannot build the heartbeat:")
    assert "cannot build the heartbeat" in caplog.text
