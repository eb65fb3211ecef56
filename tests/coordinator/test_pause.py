"""A paused node keeps beating (never silent, sent nothing, earns nothing); a node that leaves
says so."""

from sqlalchemy import select

from coordinator_service.services.pause import PAUSED_REPORT
from coordinator_service.storage.models import Node, UptimeInterval


async def test_a_paused_beat_keeps_the_node_healthy_with_no_stream_and_no_credit(api):
    await api.create_stream("demo")
    joined = await api.register()
    token = joined["node_token"]

    response = await api.beat(token, paused=True, streams=[{"name": "demo", "live": True}])

    assert response.status_code == 200, response.text
    assert response.json()["streams"] == [] and response.json()["state"] == "healthy"
    me = await api.client.get("/api/v1/nodes/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["state"] == "healthy"
    async with api.ctx.db.session() as session:
        intervals = (await session.scalars(select(UptimeInterval))).all()
        node = await session.get(Node, joined["node_id"])
    assert [row.stream_id for row in intervals] == [None]  # alive, but relaying nothing
    assert node is not None and node.streams_reported == PAUSED_REPORT

    resumed = await api.beat(token, streams=[{"name": "demo", "live": True}])
    assert [s["name"] for s in resumed.json()["streams"]] == ["demo"]


async def test_an_older_node_without_the_field_is_not_paused(api):
    await api.create_stream("demo")
    joined = await api.register()
    response = await api.beat(joined["node_token"], streams=[{"name": "demo", "live": True}])
    assert [s["name"] for s in response.json()["streams"]] == ["demo"]


async def test_a_node_that_leaves_is_marked_left_and_its_token_stops(api):
    joined = await api.register()
    token = joined["node_token"]
    assert (await api.beat(token)).status_code == 200
    headers = {"Authorization": f"Bearer {token}"}
    left = await api.client.post("/api/v1/nodes/me/leave", headers=headers)
    assert left.status_code == 204
    assert (await api.beat(token)).status_code == 401
    nodes = (await api.client.get("/api/v1/admin/nodes", headers=api.admin)).json()
    assert [n["state"] for n in nodes] == ["left"]
