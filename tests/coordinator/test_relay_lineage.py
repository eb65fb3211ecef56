"""A relay URL is held by one node, a move makes it unprobed, and a flagged past comes along."""

from datetime import timedelta

from sqlalchemy import select, update

from coordinator_service.prober.reputation import INITIAL_ALPHA
from coordinator_service.services.clock import utcnow
from coordinator_service.storage.models import (
    FlagInterval,
    Node,
    Probe,
    RelayEndpoint,
    Stream,
)


async def test_a_held_relay_url_is_refused_to_a_second_node_at_join_and_heartbeat(api):
    first = await api.register(relay_url="http://203.0.113.40:8430")
    code = (await api.create_invite())["code"]
    body = {
        "invite_code": code,
        "display_name": "Mallory",
        "payout_handle": "@mallory",
        "relay_url": "HTTP://203.0.113.40:8430/",
    }
    taken = await api.client.post("/api/v1/nodes/register", json=body)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "relay_url_taken"
    second = await api.register(relay_url="http://203.0.113.41:8430")
    moved = await api.beat(second["node_token"], relay_url="http://203.0.113.40:8430")
    assert moved.status_code == 409 and "held by another active node" in moved.text
    async with api.ctx.db.session() as session:
        urls = dict((await session.execute(select(Node.id, Node.relay_url))).all())
    assert urls == {
        first["node_id"]: "http://203.0.113.40:8430",  # the first holder keeps it
        second["node_id"]: "http://203.0.113.41:8430",
    }


async def test_a_moved_relay_gets_no_viewers_until_a_probe_at_the_new_url_passes(api):
    await api.create_stream("main", pool_per_hour_minor=3600)
    joined = await api.register(relay_url="http://203.0.113.50:8430")
    node_id, token = joined["node_id"], joined["node_token"]
    assert (await api.beat(token, streams=[{"name": "main", "live": True}])).status_code == 200
    now = utcnow()
    async with api.ctx.db.transaction() as session:
        # the origin is live (as a hook says; the app's origin poller holds that a while)
        await session.execute(update(Stream).values(live=True, live_changed_at=utcnow()))
        session.add(
            Probe(
                node_id=node_id, at=now, ok=True, reason="ok", relay_url="http://203.0.113.50:8430"
            )
        )
        await session.commit()
    watch = await api.client.get("/watch/main/relay.m3u8")
    assert watch.headers["location"] == "http://203.0.113.50:8430/live/main.m3u8"

    beat = await api.beat(
        token, relay_url="http://203.0.113.51:8430", streams=[{"name": "main", "live": True}]
    )
    assert beat.status_code == 200
    async with api.ctx.db.transaction() as session:  # still live: only the move matters
        await session.execute(update(Stream).values(live=True, live_changed_at=utcnow()))
        await session.commit()
    origin = (await api.client.get("/watch/main/relay.m3u8")).headers["location"]
    assert origin == "http://origin.test/live/main.m3u8"
    async with api.ctx.db.transaction() as session:
        urls = list(
            await session.scalars(
                select(RelayEndpoint.relay_url)
                .where(RelayEndpoint.node_id == node_id)
                .order_by(RelayEndpoint.id)
            )
        )
        await session.execute(update(Stream).values(live=True, live_changed_at=utcnow()))
        session.add(
            Probe(
                node_id=node_id,
                at=utcnow() + timedelta(seconds=1),
                ok=True,
                reason="ok",
                relay_url="http://203.0.113.51:8430",
            )
        )
        await session.commit()
    assert urls == ["http://203.0.113.50:8430", "http://203.0.113.51:8430"]
    watch = await api.client.get("/watch/main/relay.m3u8")
    assert watch.headers["location"] == "http://203.0.113.51:8430/live/main.m3u8"


async def test_registering_again_like_a_flagged_node_keeps_its_bad_reputation(api):
    cheat = await api.register(relay_url="http://203.0.113.60:8430", payout_handle="@cheat")
    async with api.ctx.db.transaction() as session:
        await session.execute(
            update(Node)
            .where(Node.id == cheat["node_id"])
            .values(reputation_alpha=2.0, reputation_beta=8.0, flagged=True)
        )
        await session.commit()
    # same payout handle (any case), another relay: starts flagged with the same score
    again = await api.register(relay_url="http://203.0.113.61:8430", payout_handle="@CHEAT")
    # another handle, another relay, but the old relay's URL once the old node is banned
    ban = await api.client.post(f"/api/v1/admin/nodes/{cheat['node_id']}/ban", headers=api.admin)
    assert ban.status_code == 200, ban.text
    by_url = await api.register(relay_url="http://203.0.113.60:8430", payout_handle="@new")
    fresh = await api.register(relay_url="http://203.0.113.62:8430", payout_handle="@honest")
    async with api.ctx.db.session() as session:
        rows = {
            row.id: (row.reputation_alpha, row.reputation_beta, row.flagged)
            for row in (await session.scalars(select(Node))).all()
        }
        flags = set(await session.scalars(select(FlagInterval.node_id)))
    assert rows[again["node_id"]] == rows[by_url["node_id"]] == (2.0, 8.0, True)
    assert rows[fresh["node_id"]] == (INITIAL_ALPHA, 0.0, False)  # fresh trust
    assert flags == {again["node_id"], by_url["node_id"]}
    listed = (await api.client.get("/api/v1/admin/nodes", headers=api.admin)).json()
    assert {n["node_id"]: n["state"] for n in listed}[again["node_id"]] == "flagged"
