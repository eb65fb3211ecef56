"""Payout, earnings, probe, leaderboard and watch routes through the real app."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from coordinator_service.services.clock import utcnow
from coordinator_service.storage.models import (
    Node,
    NodeCapacityChange,
    Probe,
    Stream,
    StreamBitrateChange,
    StreamLiveInterval,
    UptimeInterval,
)
from tests.protocol.older import OlderNodeEarningsResponse
from tests.trust.conftest import Api

HOUR = 3600


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def setup_period(api: Api, anonymous_bob: bool = False):
    """Stream `main` at 36.00/h live for the last hour; alice relays 45 min, bob 15 min."""
    await api.create_stream("main", pool_per_hour_minor=3600)
    alice = await api.register(
        display_name="Alice", payout_handle="@alice", relay_url="http://198.51.100.1:8090"
    )
    bob = await api.register(
        display_name="Bob",
        payout_handle="@bob",
        relay_url="http://198.51.100.2:8090",
        anonymous=anonymous_bob,
    )
    end = utcnow().replace(microsecond=0) - timedelta(seconds=5)
    start = end - timedelta(hours=1)
    async with api.ctx.db.transaction() as session:
        stream = (await session.execute(Stream.__table__.select())).first()
        assert stream is not None
        session.add(StreamLiveInterval(stream_id=stream.id, started_at=start, ended_at=end))
        for node_id, minutes in ((alice["node_id"], 45), (bob["node_id"], 15)):
            session.add(
                UptimeInterval(
                    node_id=node_id,
                    stream_id=stream.id,
                    started_at=start,
                    ended_at=start + timedelta(minutes=minutes),
                )
            )
        await session.commit()
    return alice, bob, start, end


async def test_compute_list_get_export_settle_and_void_payouts(api: Api):
    alice, bob, start, end = await setup_period(api)
    body = {"period_from": iso(start), "period_to": iso(end), "stream": "main"}
    dry = await api.client.post(
        "/api/v1/admin/payouts/compute", json={**body, "dry_run": True}, headers=api.admin
    )
    assert dry.status_code == 200
    response = await api.client.post("/api/v1/admin/payouts/compute", json=body, headers=api.admin)
    assert response.status_code == 201, response.text
    payout = response.json()
    assert payout["pool_minor"] == 3600 and payout["live_seconds"] == HOUR
    assert [
        (line["display_name"], line["credited_seconds"], line["amount_minor"])
        for line in payout["lines"]
    ] == [
        ("Alice", 2700, 2700),
        ("Bob", 900, 900),
    ]
    again = await api.client.post("/api/v1/admin/payouts/compute", json=body, headers=api.admin)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "payout_overlap"

    listed = (await api.client.get("/api/v1/admin/payouts", headers=api.admin)).json()
    assert [(p["payout_id"], p["nodes"]) for p in listed] == [(payout["payout_id"], 2)]
    pid = payout["payout_id"]
    assert (
        await api.client.get(f"/api/v1/admin/payouts/{pid}", headers=api.admin)
    ).json() == payout

    csv = await api.client.get(f"/api/v1/admin/payouts/{pid}/csv", headers=api.admin)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines() == [
        "node_id,display_name,payout_handle,credited_seconds,amount,currency",
        f"{alice['node_id']},Alice,'@alice,2700,27.00,USD",
        f"{bob['node_id']},Bob,'@bob,900,9.00,USD",
    ]

    paid = (
        await api.client.post(f"/api/v1/admin/payouts/{pid}/mark-paid", headers=api.admin)
    ).json()
    paid_again = (
        await api.client.post(f"/api/v1/admin/payouts/{pid}/mark-paid", headers=api.admin)
    ).json()
    assert paid["paid_at"] is not None and paid["paid_at"] == paid_again["paid_at"]
    voided = await api.client.post(f"/api/v1/admin/payouts/{pid}/void", headers=api.admin)
    assert voided.status_code == 409
    assert voided.json()["error"]["code"] == "payout_paid"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"period_from": "2030-01-01T00:00:00Z", "period_to": "2030-01-02T00:00:00Z"},
            422,
            "bad_input",
        ),
        (
            {"period_from": "2026-01-02T00:00:00Z", "period_to": "2026-01-01T00:00:00Z"},
            422,
            "bad_input",
        ),
        (
            {
                "period_from": "2026-01-01T00:00:00Z",
                "period_to": "2026-01-02T00:00:00Z",
                "stream": "nope",
            },
            404,
            "unknown_stream",
        ),
        ({"period_from": "yesterday", "period_to": "2026-01-02T00:00:00Z"}, 422, None),
    ],
)
async def test_bad_compute_requests_are_clear_4xx(api: Api, body, status, code):
    response = await api.client.post("/api/v1/admin/payouts/compute", json=body, headers=api.admin)
    assert response.status_code == status
    if code:
        assert response.json()["error"]["code"] == code


async def test_payout_routes_need_the_admin_token_and_known_ids(api: Api):
    assert (await api.client.get("/api/v1/admin/payouts")).status_code == 401
    missing = await api.client.get("/api/v1/admin/payouts/pay_nope", headers=api.admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_payout"
    bad = await api.client.get("/api/v1/admin/payouts/..%2Fetc", headers=api.admin)
    assert bad.status_code in (404, 422)


async def test_node_sees_its_earnings_payouts_and_probes(api: Api):
    alice, bob, start, end = await setup_period(api)
    headers = {"Authorization": f"Bearer {alice['node_token']}"}
    before = (await api.client.get("/api/v1/nodes/me/earnings", headers=headers)).json()
    # the estimate of the open period splits the same pool the same way
    midnight = before_midnight(end)
    today = max(0, int((start + timedelta(minutes=45) - max(start, midnight)).total_seconds()))
    assert before["credited_seconds_today"] == today
    assert before["period_minor"] == 2700
    assert before["payouts"] == [] and before["currency"] == "USD"
    body = {"period_from": iso(start), "period_to": iso(end)}
    payout = (
        await api.client.post("/api/v1/admin/payouts/compute", json=body, headers=api.admin)
    ).json()
    async with api.ctx.db.transaction() as session:
        session.add(
            Probe(
                node_id=alice["node_id"],
                at=utcnow(),
                ok=False,
                reason="stale",
                detail="stale by 12 s",
            )
        )
        session.add(Probe(node_id=bob["node_id"], at=utcnow(), ok=True, reason="ok"))
        await session.commit()
    after = (await api.client.get("/api/v1/nodes/me/earnings", headers=headers)).json()
    assert [(p["payout_id"], p["amount_minor"]) for p in after["payouts"]] == [
        (payout["payout_id"], 2700)
    ]
    assert after["period_from"].startswith(end.strftime("%Y-%m-%dT%H:%M:%S"))
    assert after["period_minor"] == 0
    assert [(p["reason"], p["detail"]) for p in after["probes"]] == [("stale", "stale by 12 s")]
    mine = (await api.client.get("/api/v1/nodes/me/probes", headers=headers)).json()
    assert [p["node_id"] for p in mine] == [alice["node_id"]]
    everyone = (await api.client.get("/api/v1/admin/probes", headers=api.admin)).json()
    assert len(everyone) == 2
    one = (
        await api.client.get(f"/api/v1/admin/probes?node={bob['node_id']}", headers=api.admin)
    ).json()
    assert [p["reason"] for p in one] == ["ok"]
    assert (await api.client.get("/api/v1/nodes/me/earnings")).status_code == 401


def before_midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def test_leaderboard_ranks_by_credited_time_and_hides_anonymous_names(api: Api):
    await setup_period(api, anonymous_bob=True)
    board = (await api.client.get("/api/v1/leaderboard")).json()
    assert [
        (e["rank"], e["display_name"], e["credited_seconds"], e["earned_minor"])
        for e in board["entries"]
    ] == [
        (1, "Alice", 2700, 2700),
        (2, "Anonymous supporter", 900, 900),
    ]
    assert "@bob" not in str(board)


async def test_watch_redirects_to_healthy_nodes_only_and_falls_back_to_the_origin(api: Api):
    assert (await api.client.get("/watch/nope/relay.m3u8")).status_code == 404
    stream = await api.create_stream("main", pool_per_hour_minor=3600)
    nodes = {}
    for name in ("healthy", "flagged", "failing", "silent", "full", "unprobed"):
        nodes[name] = await api.register(
            display_name=name, relay_url=f"http://198.51.100.{len(name)}:80{len(nodes)}"
        )
    origin = (await api.client.get("/watch/main/relay.m3u8")).headers["location"]
    assert origin == stream["origin_url"]
    now = utcnow()
    async with api.ctx.db.transaction() as session:
        sid = (await session.execute(Stream.__table__.select())).first().id
        for name, reg in nodes.items():
            node = await session.get(Node, reg["node_id"])
            node.last_heartbeat_at = now - timedelta(hours=1) if name == "silent" else now
            node.flagged = name == "flagged"
            node.viewers = 6 if name == "full" else 0  # its one probe counts as a viewer
            if name != "unprobed":  # a relay URL gets viewers once a probe there passed
                session.add(Probe(node_id=node.id, at=now, ok=True, reason="ok"))
            node.next_probe_at = now + timedelta(hours=1)  # the app's prober leaves them be
            session.add(
                UptimeInterval(
                    node_id=node.id,
                    stream_id=sid,
                    started_at=now - timedelta(minutes=1),
                    ended_at=now,
                )
            )
        session.add(
            Probe(
                node_id=nodes["failing"]["node_id"],
                at=now + timedelta(seconds=1),
                ok=False,
                reason="timeout",
            )
        )
        await session.commit()
    not_live = await api.client.get("/watch/main/relay.m3u8")
    assert not_live.headers["location"] == origin
    await api.publish("main")
    targets = set()
    for _ in range(30):
        response = await api.client.get("/watch/main/relay.m3u8")
        assert response.status_code == 302
        targets.add(response.headers["location"])
    healthy_url = (await api.client.get("/api/v1/admin/nodes", headers=api.admin)).json()
    expected = next(n["relay_url"] for n in healthy_url if n["display_name"] == "healthy")
    assert targets == {f"{expected}/live/main.m3u8"}


async def test_a_node_is_told_why_its_unverified_time_was_not_credited(api: Api):
    alice, _, start, _ = await setup_period(api)
    async with api.ctx.db.transaction() as session:
        # a check fails 10 min into Alice's 45 min and the next one passes 15 min later
        for minutes, ok, reason in ((10, False, "timeout"), (25, True, "ok")):
            session.add(
                Probe(
                    node_id=alice["node_id"],
                    at=start + timedelta(minutes=minutes),
                    ok=ok,
                    reason=reason,
                )
            )
        await session.commit()
    headers = {"Authorization": f"Bearer {alice['node_token']}"}
    answer = await api.client.get("/api/v1/nodes/me/earnings?credit=1", headers=headers)
    assert answer.status_code == 200, answer.text
    credit = answer.json()["credit"]
    assert (credit["up_seconds"], credit["credited_seconds"]) == (2700, 1800)
    assert [(lost["reason"], lost["seconds"]) for lost in credit["lost"]] == [("unverified", 900)]
    assert "not reachable for the host's checks" in credit["lost"][0]["text"]
    assert "Fix it" in credit["lost"][0]["advice"]
    # the estimate agrees: Alice's 1800 s and Bob's 900 s share the hour's pool of 3600
    assert answer.json()["period_minor"] == 3600 * 1800 // (1800 + 900)


async def test_a_node_under_the_streams_bitrate_is_told_the_upload_limit_that_fixes_it(api: Api):
    alice, _, start, _ = await setup_period(api)
    async with api.ctx.db.transaction() as session:
        sid = (await session.execute(Stream.__table__.select())).first().id
        # a 4 Mbit/s stream; Alice's cap is 0.5 Mbit/s until she raises it 30 min in
        session.add(StreamBitrateChange(stream_id=sid, slot_kbit=4000, started_at=start))
        for minutes, kbit in ((0, 500), (30, 10_000)):
            session.add(
                NodeCapacityChange(
                    node_id=alice["node_id"],
                    capacity_kbit=kbit,
                    started_at=start + timedelta(minutes=minutes),
                )
            )
        await session.commit()
    headers = {"Authorization": f"Bearer {alice['node_token']}"}
    answer = await api.client.get("/api/v1/nodes/me/earnings?credit=1", headers=headers)
    assert answer.status_code == 200, answer.text
    credit = answer.json()["credit"]
    assert (credit["up_seconds"], credit["credited_seconds"]) == (2700, 900)
    assert [(lost["reason"], lost["seconds"]) for lost in credit["lost"]] == [("no_slot", 1800)]
    assert "at least 4 Mbit/s" in credit["lost"][0]["advice"]
    # her app lowers the cap again: recorded once, from that beat on
    for _ in range(2):
        beat = await api.beat(alice["node_token"], capacity_kbit=800)
        assert beat.status_code == 200, beat.text
    async with api.ctx.db.session() as session:
        caps = list(
            await session.scalars(
                select(NodeCapacityChange.capacity_kbit)
                .where(NodeCapacityChange.node_id == alice["node_id"])
                .order_by(NodeCapacityChange.started_at, NodeCapacityChange.id)
            )
        )
    assert caps == [500, 10_000, 10_000, 800]  # seeded, registered (10,000 kbit), the beat


async def test_an_older_node_that_does_not_ask_gets_the_answer_it_can_read(api: Api):
    alice, *_ = await setup_period(api)
    headers = {"Authorization": f"Bearer {alice['node_token']}"}
    answer = await api.client.get("/api/v1/nodes/me/earnings", headers=headers)
    assert "credit" not in answer.json()
    OlderNodeEarningsResponse.model_validate_json(answer.content)
    asked = await api.client.get("/api/v1/nodes/me/earnings?credit=1", headers=headers)
    with pytest.raises(ValidationError, match="credit"):  # why the field is sent only when asked
        OlderNodeEarningsResponse.model_validate_json(asked.content)


async def test_a_node_without_a_viewer_slot_is_told_the_upload_limit_that_fixes_it(api: Api):
    _, bob, start, _ = await setup_period(api)
    async with api.ctx.db.transaction() as session:
        stream = (await session.execute(Stream.__table__.select())).first()
        assert stream is not None
        early = start - timedelta(minutes=5)
        session.add(StreamBitrateChange(stream_id=stream.id, slot_kbit=2_450, started_at=early))
        session.add(NodeCapacityChange(node_id=bob["node_id"], capacity_kbit=500, started_at=early))
        await session.commit()
    headers = {"Authorization": f"Bearer {bob['node_token']}"}
    credit = (await api.client.get("/api/v1/nodes/me/earnings?credit=1", headers=headers)).json()[
        "credit"
    ]
    assert (credit["up_seconds"], credit["credited_seconds"]) == (900, 0)
    [lost] = credit["lost"]
    assert (lost["reason"], lost["seconds"]) == ("no_slot", 900)
    assert lost["advice"] == "raise your upload limit (Settings) to at least 2.5 Mbit/s"
