"""Peer audits through the API: assignments in heartbeat answers, reports, judging rounds."""

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from coordinator_service.prober.audits import AuditRunner, judge_report
from coordinator_service.prober.identity import relay_url_key
from coordinator_service.prober.origin import OriginSegment, StreamIndex
from coordinator_service.storage.models import FlagInterval, Node, PeerAudit, Probe

GOOD = b"origin segment bytes"
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()
BAD_SHA = hashlib.sha256(b"made up").hexdigest()


def index_with_good_segment() -> StreamIndex:
    index = StreamIndex("demo")
    session = index.open_session(time.time())
    index.add(("seg1.ts", session.number, 1), OriginSegment(GOOD_SHA, time.time(), 1.0, 1, 1))
    return index


def test_judging_one_report_against_the_origin_index():
    index, now = index_with_good_segment(), time.time()
    assert judge_report(200, 20, GOOD_SHA, 50, "", index, now) == "ok"
    assert judge_report(200, 20, BAD_SHA, 50, "", index, now) == "hash_mismatch"
    assert judge_report(200, 20, GOOD_SHA, 50, "", index, now + 3600) == "stale"
    assert judge_report(404, 0, "", 5, "", index, now) == "http_error"
    assert judge_report(0, 0, "", 5, "refused", index, now) == "refused"
    assert judge_report(0, 0, "", 10_000, "timeout", index, now) == "timeout"
    assert judge_report(200, 9, "", 10_000, "timeout", index, now) == "slow"
    assert judge_report(200, 9, "", 100, "error", index, now) == "timeout"
    assert judge_report(200, 20, GOOD_SHA, 9_000, "", index, now) == "slow"


def test_same_address_means_ipv4_ipv6_slash_64_or_private_address_and_port():
    assert relay_url_key("http://93.184.216.34:8090") == relay_url_key("http://93.184.216.34:9000")
    assert relay_url_key("http://[2a00:1450:4001::1]:1") == relay_url_key(
        "http://[2a00:1450:4001::2]:2"
    )
    assert relay_url_key("http://127.0.0.2:8090") != relay_url_key("http://127.0.0.2:8091")
    assert relay_url_key("http://127.0.0.2:8090") == "127.0.0.2:8090"


async def _setup(api, count=3):
    await api.create_stream("demo")
    nodes = [await api.register(relay_port=8090 + i) for i in range(count)]
    return nodes


async def _assign(api, target, auditors, now):
    async with api.ctx.db.transaction() as session:
        stream_id = 1
        ids = []
        for i, auditor in enumerate(auditors):
            audit_id = f"a{i}-{secrets.token_hex(4)}"
            ids.append(audit_id)
            session.add(
                PeerAudit(
                    id=audit_id,
                    node_id=target,
                    auditor_id=auditor,
                    stream_id=stream_id,
                    url="http://127.0.0.1:8090/live/demo.m3u8",
                    assigned_at=now,
                    expires_at=now + timedelta(seconds=60),
                )
            )
        await session.commit()
    return ids


async def test_assignments_ride_only_in_answers_to_nodes_that_audit(api):
    a, b, c = await _setup(api)
    now = datetime.now(UTC)
    (audit_id,) = await _assign(api, a["node_id"], [b["node_id"]], now)
    old = await api.beat(b["node_token"])
    assert old.status_code == 200 and "audits" not in old.json()
    new = await api.beat(b["node_token"], audits=True)
    assert [x["id"] for x in new.json()["audits"]] == [audit_id]
    assert (await api.beat(c["node_token"], audits=True)).json()["audits"] == []


async def test_reports_of_audits_not_given_to_the_caller_are_ignored(api):
    a, b, c = await _setup(api)
    (audit_id,) = await _assign(api, a["node_id"], [b["node_id"]], datetime.now(UTC))
    report = {"id": audit_id, "status": 200, "bytes": 20, "sha256": GOOD_SHA, "total_ms": 5}
    headers = {"Authorization": f"Bearer {c['node_token']}"}
    response = await api.client.post(
        "/api/v1/nodes/audits", json={"reports": [report]}, headers=headers
    )
    assert response.status_code == 200 and response.json() == {"accepted": 0}
    headers = {"Authorization": f"Bearer {b['node_token']}"}
    response = await api.client.post(
        "/api/v1/nodes/audits", json={"reports": [report]}, headers=headers
    )
    assert response.json() == {"accepted": 1}
    again = await api.client.post(
        "/api/v1/nodes/audits", json={"reports": [report]}, headers=headers
    )
    assert again.json() == {"accepted": 0}  # one report per assignment
    bad = await api.client.post(
        "/api/v1/nodes/audits", json={"reports": [report | {"sha256": "xyz"}]}, headers=headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    assert (await api.beat(b["node_token"], audits=True)).json()["audits"] == []


async def _report(api, node, audit_id, sha, status=200, total_ms=5):
    report = {"id": audit_id, "status": status, "bytes": 20, "sha256": sha, "total_ms": total_ms}
    response = await api.client.post(
        "/api/v1/nodes/audits",
        json={"reports": [report]},
        headers={"Authorization": f"Bearer {node['node_token']}"},
    )
    assert response.json() == {"accepted": 1}


def _runner(api, index):
    return AuditRunner(
        api.ctx.db.transaction,
        lambda: {"demo": index},
        lambda: {"demo": (1, "http://origin.test/live/demo.m3u8")},
        audit_interval_s=1,
        relaying_window_s=60,
        beating_window_s=60,
        clock=lambda: datetime.now(UTC) + timedelta(seconds=5),  # past the settling delay
    )


async def _reputation(api, node_id):
    async with api.ctx.db.session() as session:
        node = await session.get(Node, node_id)
        return node.reputation_alpha, node.reputation_beta


async def test_a_liar_against_an_honest_majority_loses_reputation_and_the_target_does_not(api):
    target, honest1, honest2, liar = await _setup(api, 4)
    ids = await _assign(
        api, target["node_id"], [honest1["node_id"], honest2["node_id"], liar["node_id"]],
        datetime.now(UTC),
    )  # fmt: skip
    await _report(api, honest1, ids[0], GOOD_SHA)
    await _report(api, honest2, ids[1], GOOD_SHA)
    await _report(api, liar, ids[2], BAD_SHA)
    runner = _runner(api, index_with_good_segment())
    assert await runner.judge_reports() == 1
    _, target_beta = await _reputation(api, target["node_id"])
    _, liar_beta = await _reputation(api, liar["node_id"])
    assert target_beta == 0 and liar_beta == 3.0
    async with api.ctx.db.session() as session:
        audits = {a.id: a for a in (await session.scalars(select(PeerAudit))).all()}
        probes = (await session.scalars(select(Probe))).all()
    assert [audits[i].counted for i in ids] == [True, True, False]
    assert audits[ids[2]].reason == "x:hash_mismatch"
    assert {(p.node_id, p.ok) for p in probes} == {
        (target["node_id"], True),
        (liar["node_id"], False),
    }


async def test_two_auditors_agreeing_on_wrong_bytes_count_fully_one_alone_like_a_timeout(api):
    target, a1, a2 = await _setup(api, 3)
    ids = await _assign(api, target["node_id"], [a1["node_id"], a2["node_id"]], datetime.now(UTC))
    await _report(api, a1, ids[0], BAD_SHA)
    await _report(api, a2, ids[1], BAD_SHA)
    runner = _runner(api, index_with_good_segment())
    await runner.judge_reports()
    assert round((await _reputation(api, target["node_id"]))[1], 3) == round(0.95 * 3 + 3, 3)
    # a second round where only one of two auditors answered (the other's assignment expired)
    now = datetime.now(UTC) - timedelta(seconds=120)
    ids = await _assign(api, target["node_id"], [a1["node_id"], a2["node_id"]], now)
    async with api.ctx.db.transaction() as session:
        audit = await session.get(PeerAudit, ids[0])
        audit.expires_at = datetime.now(UTC) + timedelta(seconds=30)
        await session.commit()
    await _report(api, a1, ids[0], BAD_SHA)
    await runner.judge_reports()
    assert round((await _reputation(api, target["node_id"]))[1], 3) == round(
        0.95 * (0.95 * 3 + 3) + 0.3, 3
    )


async def _slow_spans(api, node_id):
    async with api.ctx.db.session() as session:
        return (
            await session.scalars(
                select(FlagInterval.reason).where(
                    FlagInterval.node_id == node_id, FlagInterval.reason.startswith("slow:")
                )
            )
        ).all()


async def _round(api, runner, target, auditors, total_ms):
    """One audit round of `target` by `auditors`, all reporting the origin's bytes in total_ms."""
    ids = await _assign(api, target["node_id"], [a["node_id"] for a in auditors], datetime.now(UTC))
    for auditor, audit_id in zip(auditors, ids, strict=True):
        await _report(api, auditor, audit_id, GOOD_SHA, total_ms=total_ms)
    assert await runner.judge_reports() == 1


async def test_rounds_agreeing_slow_cost_credit_only_three_in_a_row(api):
    target, a1, a2 = await _setup(api, 3)
    runner = _runner(api, index_with_good_segment())
    await _round(api, runner, target, [a1, a2], 9_000)  # two lossy links at once: it happens
    await _round(api, runner, target, [a1, a2], 9_000)  # twice in a row, now and then
    assert await _slow_spans(api, target["node_id"]) == []
    await _round(api, runner, target, [a1, a2], 300)  # an audit passed in between
    await _round(api, runner, target, [a1, a2], 9_000)
    await _round(api, runner, target, [a1, a2], 9_000)
    assert await _slow_spans(api, target["node_id"]) == []
    await _round(api, runner, target, [a1, a2], 9_000)  # a trickle fails every audit
    assert len(await _slow_spans(api, target["node_id"])) == 1
