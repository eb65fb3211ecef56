"""Relay eligibility, the per-viewer weighted pick of pathways, and the legacy redirect."""

import random
from collections import Counter
from datetime import timedelta

from coordinator_service.prober.routing import (
    RelayCandidate,
    canonical_relay_base,
    eligible_relays,
    pick_pathways,
)
from coordinator_service.services.clock import utcnow
from coordinator_service.storage.models import Node, Probe, Stream, UptimeInterval
from tests.trust.conftest import Api, Seeder, at


def test_canonical_relay_base_keeps_scheme_host_and_port_only():
    assert (
        canonical_relay_base("http://198.51.100.9:8090/phish?x=1#f") == "http://198.51.100.9:8090"
    )
    assert (
        canonical_relay_base("HTTPS://User:pw@Relay.Example.ORG/a") == "https://relay.example.org"
    )
    assert canonical_relay_base("http://[2001:db8::1]:81/x") == "http://[2001:db8::1]:81"
    assert canonical_relay_base("ftp://198.51.100.9") is None
    assert canonical_relay_base("http://198.51.100.9:99999") is None
    assert canonical_relay_base("") is None


def test_pick_pathways_draws_distinct_relays_in_proportion_to_weight():
    candidates = [RelayCandidate("a", "http://a", 6), RelayCandidate("b", "http://b", 3)]
    candidates.append(RelayCandidate("c", "http://c", 1))
    rnd = random.Random(7)
    firsts: Counter[str] = Counter()
    for _ in range(3000):
        picked = pick_pathways(candidates, 2, rnd)
        assert len(picked) == 2 and len({p.node_id for p in picked}) == 2
        firsts[picked[0].node_id] += 1
    assert firsts["a"] > firsts["b"] > firsts["c"] > 0
    assert [p.node_id for p in pick_pathways(candidates[:1], 3, rnd)] == ["a"]
    assert pick_pathways([RelayCandidate("z", "http://z", 0)], 3, rnd) == []


async def test_eligible_relays_lists_only_healthy_relays_with_spare_slots(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        stream = await seed.stream()
        now = at(600)
        kinds = ("ok", "flagged", "silent", "full", "elsewhere", "badurl")
        for kind in kinds:
            await seed.node(
                kind,
                relay="ftp://x" if kind == "badurl" else f"http://10.0.0.{len(kind)}:80/p?q",
                flagged=kind == "flagged",
                last_heartbeat_at=at(0) if kind == "silent" else now,
                capacity_kbit=8_000,
                viewers=4 if kind == "full" else 1,
            )
            other = None if kind == "elsewhere" else stream
            await seed.up(kind, other, (500, 600))
        _, offline = await eligible_relays(session, "main", now, timedelta(seconds=60))
        stream.live = True
        got_stream, candidates = await eligible_relays(session, "main", now, timedelta(seconds=60))
    assert got_stream.name == "main"
    assert offline == [], "no viewer goes to a node while the stream is not live"
    assert candidates == [
        RelayCandidate("ok", "http://10.0.0.2", 3)
    ]  # canonical: default port dropped


async def test_legacy_redirect_never_carries_the_node_chosen_path_or_query(api: Api):
    await api.create_stream("main", pool_per_hour_minor=3600)
    reg = await api.register(display_name="sly", relay_url="http://198.51.100.7:8090")
    now = utcnow()
    async with api.ctx.db.transaction() as session:
        sid = (await session.execute(Stream.__table__.select())).first().id
        node = await session.get(Node, reg["node_id"])
        # register and heartbeat refuse such URLs (422); a row from before that rule may hold one
        node.relay_url = "http://198.51.100.7:8090/phish/page?next=https://evil.test"
        node.last_heartbeat_at = now
        # a probe passed at its URL (a relay URL counts for viewers only once it was probed)
        session.add(Probe(node_id=node.id, at=now, ok=True, reason="ok", latency_ms=1))
        node.next_probe_at = now + timedelta(hours=1)  # the app's prober leaves it be
        session.add(
            UptimeInterval(
                node_id=node.id, stream_id=sid, started_at=now - timedelta(minutes=1), ended_at=now
            )
        )
        await session.commit()
    await api.publish("main")
    response = await api.client.get("/watch/main/relay.m3u8")
    assert response.status_code == 302
    assert response.headers["location"] == "http://198.51.100.7:8090/live/main.m3u8"


async def test_our_own_recent_probes_do_not_use_up_a_relays_viewer_slots(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        stream = await seed.stream()
        stream.live = True
        now = at(600)
        for node_id in ("probed", "watched"):
            await seed.node(node_id, last_heartbeat_at=now, capacity_kbit=8_000, viewers=4)
            await seed.up(node_id, stream, (500, 600))
        # three probes within the window the relay counts viewers in, one long before
        for seconds in (590, 595, 599, 60):
            session.add(Probe(node_id="probed", at=at(seconds), ok=True, reason="ok"))
        await session.flush()
        _, candidates = await eligible_relays(session, "main", now, timedelta(seconds=60))
    assert [(c.node_id, c.weight) for c in candidates] == [("probed", 3)]
