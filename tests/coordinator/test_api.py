"""The coordinator's HTTP API, through ASGITransport, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from coordinator_service.services.tokens import hash_secret
from coordinator_service.storage.models import Invite, Node, UptimeInterval
from streamr_protocol.invite import parse_invite_link


async def test_node_registers_with_invite_and_gets_token_once(api):
    invite = await api.create_invite()
    link = parse_invite_link(invite["link"])
    assert link.coordinator_url == "http://coord.test:8000"
    assert link.code == invite["code"]

    joined = await api.register(invite["code"], relay_port=8090)

    assert joined["relay_url"] == "http://127.0.0.1:8090"
    assert joined["heartbeat_interval_s"] == 30
    assert len(joined["node_token"]) >= 40 and len(joined["probe_key"]) >= 40
    async with api.ctx.db.session() as session:
        node = await session.get(Node, joined["node_id"])
        stored = (await session.scalars(select(Invite))).one()
    assert node.token_hash == hash_secret(joined["node_token"])
    assert joined["node_token"] not in (node.token_hash, node.probe_key)
    assert stored.code_hash == hash_secret(invite["code"]) and stored.uses_left == 0


async def test_register_takes_relay_url_from_body(api):
    joined = await api.register(relay_url="https://relay.example.org:8443/")
    assert joined["relay_url"] == "https://relay.example.org:8443"


@pytest.mark.parametrize(
    ("relay_url", "why"),
    [
        ("http://relay.example.org:8430/live", "a path"),
        ("http://relay.example.org:8430/?x=1", "a query"),
        ("http://relay.example.org:8430/#top", "a fragment"),
        ("http://me:secret@relay.example.org:8430", "user info"),
    ],
)
async def test_relay_urls_with_more_than_scheme_host_port_are_refused(api, relay_url, why):
    code = (await api.create_invite())["code"]
    body = {"invite_code": code, "display_name": "A", "payout_handle": "@a", "relay_url": relay_url}
    refused = await api.client.post("/api/v1/nodes/register", json=body)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "bad_relay_url" and why in error["message"]
    assert "give only scheme, host and port" in error["message"]
    joined = await api.register(code, relay_url="HTTP://Relay.Example.org:8430/")
    assert joined["relay_url"] == "http://relay.example.org:8430"
    beat = await api.beat(joined["node_token"], relay_url=relay_url)
    assert beat.status_code == 422 and why in beat.json()["error"]["message"]
    async with api.ctx.db.session() as session:
        node = await session.get(Node, joined["node_id"])
    assert node is not None and node.relay_url == "http://relay.example.org:8430"


async def test_an_app_older_than_signed_segments_is_told_in_plain_words_to_update(api):
    joined = await api.register()
    old = (await api.beat(joined["node_token"], segment_proofs=False)).json()
    assert old["state"] == "healthy"
    assert old["update"]["version"].startswith("A newer version — required:")
    assert "earns nothing and gets no viewers until you update" in old["update"]["version"]
    assert (await api.beat(joined["node_token"])).json()["update"] is None


async def test_register_without_relay_url_or_port_is_refused(api):
    code = (await api.create_invite())["code"]
    body = {"invite_code": code, "display_name": "A", "payout_handle": "@a"}
    response = await api.client.post("/api/v1/nodes/register", json=body)
    assert response.status_code == 422
    assert "relay_port" in response.json()["error"]["message"]


async def test_heartbeat_answers_interval_streams_and_state(api):
    await api.create_stream("demo")
    await api.create_stream("paused-one")
    patch = await api.client.patch(
        "/api/v1/admin/streams/paused-one", json={"paused": True}, headers=api.admin
    )
    assert patch.status_code == 200 and patch.json()["paused"] is True
    joined = await api.register()

    response = await api.beat(joined["node_token"], streams=[{"name": "demo", "live": True}])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["interval_s"] == 30
    assert body["state"] == "healthy"
    assert body["streams"] == [{"name": "demo", "origin_url": "http://origin.test/live/demo.m3u8"}]
    assert body["update"] is None
    server_time = datetime.fromisoformat(body["server_time"])
    assert abs((server_time - datetime.now(UTC)).total_seconds()) < 5


async def test_heartbeats_extend_one_uptime_interval_per_stream(api):
    await api.create_stream("demo")
    joined = await api.register()
    for _ in range(3):
        response = await api.beat(joined["node_token"], streams=[{"name": "demo", "live": True}])
        assert response.status_code == 200
    await api.beat(joined["node_token"], streams=[{"name": "demo", "live": False}])

    async with api.ctx.db.session() as session:
        rows = (await session.scalars(select(UptimeInterval))).all()
    by_stream = {row.stream_id: row for row in rows}
    assert len(rows) == 2 and None in by_stream
    up, live = by_stream[None], next(r for r in rows if r.stream_id is not None)
    assert up.started_at < up.ended_at
    assert live.started_at < live.ended_at <= up.ended_at


async def test_heartbeat_after_a_gap_opens_a_new_interval(api):
    joined = await api.register()
    await api.beat(joined["node_token"])
    # Push the open interval back past the grace window, as if the node had been away.
    async with api.ctx.db.transaction() as session:
        row = (await session.scalars(select(UptimeInterval))).one()
        old = datetime(2020, 1, 1, tzinfo=UTC)
        row.started_at = row.ended_at = old
        await session.commit()
    api.ctx.recorder._open.clear()  # a restarted coordinator knows nothing in memory

    await api.beat(joined["node_token"])

    async with api.ctx.db.session() as session:
        rows = (await session.scalars(select(UptimeInterval).order_by(UptimeInterval.id))).all()
    assert len(rows) == 2
    assert rows[0].ended_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert rows[1].started_at > rows[0].ended_at


async def test_heartbeat_updates_node_report(api):
    joined = await api.register()
    await api.beat(
        joined["node_token"],
        relay_url="http://10.0.0.5:9000",
        viewers=7,
        bytes_served=12345,
        capacity_kbit=5000,
        version="1.2.3",
    )
    nodes = (await api.client.get("/api/v1/admin/nodes", headers=api.admin)).json()
    assert len(nodes) == 1
    node = nodes[0]
    assert node["relay_url"] == "http://10.0.0.5:9000"
    assert (node["viewers"], node["bytes_served"], node["capacity_kbit"]) == (7, 12345, 5000)
    assert node["version"] == "1.2.3" and node["state"] == "healthy"
    assert node["reputation"] == 1.0 and node["last_heartbeat_at"] is not None


async def test_node_is_new_before_its_first_beat_and_silent_after_grace(api):
    joined = await api.register()
    me = await api.client.get(
        "/api/v1/nodes/me", headers={"Authorization": f"Bearer {joined['node_token']}"}
    )
    assert me.status_code == 200 and me.json()["state"] == "new"
    async with api.ctx.db.transaction() as session:
        node = await session.get(Node, joined["node_id"])
        node.last_heartbeat_at = datetime(2020, 1, 1, tzinfo=UTC)
        await session.commit()
    me = await api.client.get(
        "/api/v1/nodes/me", headers={"Authorization": f"Bearer {joined['node_token']}"}
    )
    assert me.json()["state"] == "silent"


async def test_flagged_node_is_told_it_is_flagged(api):
    joined = await api.register()
    async with api.ctx.db.transaction() as session:
        node = await session.get(Node, joined["node_id"])
        node.flagged = True
        node.reputation_alpha, node.reputation_beta = 1.0, 3.0
        await session.commit()
    body = (await api.beat(joined["node_token"])).json()
    assert body["state"] == "flagged"
    nodes = (await api.client.get("/api/v1/admin/nodes", headers=api.admin)).json()
    assert nodes[0]["state"] == "flagged" and nodes[0]["reputation"] == 0.25


async def test_banned_node_gets_no_streams_and_earns_no_uptime(api):
    await api.create_stream("demo")
    joined = await api.register()
    ban = await api.client.post(f"/api/v1/admin/nodes/{joined['node_id']}/ban", headers=api.admin)
    assert ban.status_code == 200 and ban.json()["state"] == "banned"

    body = (await api.beat(joined["node_token"], streams=[{"name": "demo", "live": True}])).json()

    assert body["state"] == "banned" and body["streams"] == []
    async with api.ctx.db.session() as session:
        assert (await session.scalars(select(UptimeInterval))).all() == []

    unban = await api.client.post(
        f"/api/v1/admin/nodes/{joined['node_id']}/unban", headers=api.admin
    )
    assert unban.json()["state"] == "new"
    assert (await api.beat(joined["node_token"])).json()["state"] == "healthy"


async def test_update_announcement_reaches_heartbeats(api):
    joined = await api.register()
    response = await api.client.put(
        "/api/v1/admin/settings/update",
        json={"version": "1.4.0", "download_url": "https://example.org/streamr-1.4.0.deb"},
        headers=api.admin,
    )
    assert response.status_code == 200
    body = (await api.beat(joined["node_token"])).json()
    assert body["update"] == {
        "version": "1.4.0",
        "download_url": "https://example.org/streamr-1.4.0.deb",
    }


async def test_streams_crud_and_public_list(api):
    created = await api.create_stream("demo", pool_per_hour_minor=150, currency="EUR")
    assert created["watch_url"] == "http://coord.test:8000/watch/demo.m3u8"
    await api.create_stream("other")

    got = await api.client.get("/api/v1/admin/streams/demo", headers=api.admin)
    assert got.json()["pool_per_hour_minor"] == 150 and got.json()["currency"] == "EUR"
    changed = await api.client.patch(
        "/api/v1/admin/streams/demo",
        json={"origin_url": "https://cdn.test/live/demo.m3u8", "paused": True},
        headers=api.admin,
    )
    assert changed.json()["origin_url"] == "https://cdn.test/live/demo.m3u8"

    public = (await api.client.get("/api/v1/streams")).json()
    assert [s["name"] for s in public] == ["other"]
    everything = (await api.client.get("/api/v1/admin/streams", headers=api.admin)).json()
    assert [s["name"] for s in everything] == ["demo", "other"]

    deleted = await api.client.delete("/api/v1/admin/streams/other", headers=api.admin)
    assert deleted.status_code == 204
    gone = await api.client.get("/api/v1/admin/streams/other", headers=api.admin)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_stream"


async def test_duplicate_stream_name_is_a_conflict(api):
    await api.create_stream("demo")
    response = await api.client.post(
        "/api/v1/admin/streams",
        json={"name": "demo", "origin_url": "http://o.test/x.m3u8", "pool_per_hour_minor": 1},
        headers=api.admin,
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stream_exists"


async def test_invites_list_and_revoke(api):
    first = await api.create_invite(uses=3, note="for Bob")
    await api.create_invite(expires_in_s=None)
    listed = (await api.client.get("/api/v1/admin/invites", headers=api.admin)).json()
    assert len(listed) == 2 and all("code" not in i and "link" not in i for i in listed)

    revoked = await api.client.post(
        f"/api/v1/admin/invites/{first['id']}/revoke", headers=api.admin
    )
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    missing = await api.client.post("/api/v1/admin/invites/nope/revoke", headers=api.admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_invite"


async def test_invite_with_uses_admits_that_many_nodes(api):
    invite = await api.create_invite(uses=2)
    first = await api.register(invite["code"])
    second = await api.register(invite["code"])
    assert first["node_id"] != second["node_id"]
    third = await api.client.post(
        "/api/v1/nodes/register",
        json={
            "invite_code": invite["code"],
            "display_name": "C",
            "payout_handle": "c",
            "relay_port": 1,
        },
    )
    assert third.status_code == 409 and third.json()["error"]["code"] == "invite_used_up"


async def test_join_page_explains_the_link(api):
    code = (await api.create_invite())["code"]
    response = await api.client.get(f"/join/{code}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f"http://coord.test:8000/join/{code}" in response.text
    assert "streamr-node --headless --invite" in response.text
    # the command stays one line: it scrolls in a <pre> rather than breaking inside the URL
    command = f"<pre><code>streamr-node --headless --invite http://coord.test:8000/join/{code}"
    assert command in response.text and "break-all" not in response.text


async def test_healthz_and_metrics(api):
    joined = await api.register()
    await api.beat(joined["node_token"])
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    metrics = (await api.client.get("/metrics")).text
    assert 'streamr_heartbeats_total{state="healthy"} 1.0' in metrics
    assert "streamr_live_nodes 1.0" in metrics
    assert 'route="/api/v1/nodes/heartbeat",status="200"' in metrics
    assert "streamr_http_request_duration_seconds_bucket" in metrics


async def test_openapi_and_docs_are_served(api):
    spec = (await api.client.get("/openapi.json")).json()
    assert "/api/v1/nodes/heartbeat" in spec["paths"]
    assert (await api.client.get("/docs")).status_code == 200


async def test_an_invite_code_can_be_checked_without_using_it(api):
    invite = await api.create_invite()
    for _ in range(2):  # checking twice uses nothing up
        answer = await api.client.get(f"/api/v1/join/{invite['code']}")
        assert answer.status_code == 200 and answer.json() == {"status": "active"}
    await api.register(invite["code"])
    used = await api.client.get(f"/api/v1/join/{invite['code']}")
    assert used.json() == {"status": "used"}
    unknown = await api.client.get("/api/v1/join/abcdefghijklmnopqrstuvwxyz")
    assert unknown.json() == {"status": "invalid"}
