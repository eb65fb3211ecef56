"""Viewer report tokens and `POST /api/v1/watch/reports`: what is accepted, stored and refused."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from coordinator_service.api.routes.watch_reports import app_report_secret, watch_token
from coordinator_service.prober.viewer_reports import (
    issue_report_token,
    verify_report_token,
    viewer_address,
)
from coordinator_service.storage.models import ViewerReport

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SECRET = b"s" * 32


def test_a_token_grants_its_stream_and_nodes_until_it_expires():
    token = issue_report_token(SECRET, "demo", ["b", "a", "a"], NOW)
    grant = verify_report_token(SECRET, token, NOW + timedelta(minutes=5))
    assert grant is not None
    assert (grant.stream, grant.node_ids) == ("demo", ("a", "b"))
    assert grant.expires_at > NOW
    assert verify_report_token(SECRET, token, grant.expires_at) is None
    other = verify_report_token(SECRET, issue_report_token(SECRET, "demo", ["a"], NOW), NOW)
    assert other is not None and other.viewer != grant.viewer


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: "x" + t,
        lambda t: t.replace(".", ""),
        lambda t: t + ".x",
        lambda t: "",
        lambda t: "!!!.???",
        lambda t: "a" * 5000,
    ],
)
def test_a_forged_or_mangled_token_is_refused(mangle):
    token = issue_report_token(SECRET, "demo", ["a"], NOW)
    assert verify_report_token(SECRET, mangle(token), NOW) is None
    assert verify_report_token(b"other" * 8, token, NOW) is None


def test_viewers_count_by_ipv4_address_and_ipv6_slash_64():
    assert viewer_address("127.0.0.2") == "127.0.0.2"
    assert viewer_address("2001:db8:1:2:3:4:5:6") == viewer_address("2001:db8:1:2::9")
    assert viewer_address("2001:db8:1:3::9") != viewer_address("2001:db8:1:2::9")
    assert viewer_address("::ffff:10.0.0.1") == "10.0.0.1"


async def _node_ids(api, count):
    await api.create_stream("demo")
    return [(await api.register(relay_port=8090 + i))["node_id"] for i in range(count)]


async def test_reports_are_stored_per_pathway_with_the_viewer_address(api):
    a, b = await _node_ids(api, 2)
    token = await watch_token(api.ctx, "demo", [a, b], datetime.now(UTC))
    reports = [
        {"pathway": a, "uri": "/live/demo-1.ts", "ok": True, "bytes": 1000, "ms": 20},
        {"pathway": a, "uri": "/live/demo-2.ts", "ok": True, "bytes": 3000, "ms": 40},
        {"pathway": b, "uri": "/live/demo-1.ts", "ok": False, "bytes": 0, "ms": 5000},
        {"pathway": "origin", "uri": "/live/demo-2.ts", "ok": True, "bytes": 10, "ms": 1},
    ]
    response = await api.client.post(
        "/api/v1/watch/reports", json={"token": token, "reports": reports}
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 4
    fresh = response.json()["token"]
    response = await api.client.post(
        "/api/v1/watch/reports", json={"token": fresh, "reports": reports[:1]}
    )
    assert response.status_code == 202, response.text
    async with api.ctx.db.session() as session:
        rows = (await session.scalars(select(ViewerReport).order_by(ViewerReport.id))).all()
    by_node = {(r.node_id, r.ok_count, r.fail_count, r.bytes, r.ms) for r in rows[:3]}
    assert by_node == {(a, 2, 0, 4000, 60), (b, 0, 1, 0, 0), (None, 1, 0, 10, 1)}
    assert {r.address for r in rows} == {"127.0.0.1"}
    assert len({r.viewer for r in rows}) == 1  # a renewed token keeps counting as the same viewer


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"token": "nonsense", "reports": [{"pathway": "origin", "ok": True}]},
            401,
            "bad_report_token",
        ),
        (
            {"token": "GOOD", "reports": [{"pathway": "someone-else", "ok": False}]},
            422,
            "pathway_not_granted",
        ),
        ({"token": "GOOD", "reports": []}, 422, "invalid_request"),
        (
            {"token": "GOOD", "reports": [{"pathway": "origin", "ok": True}] * 121},
            422,
            "invalid_request",
        ),
        (
            {"token": "GOOD", "reports": [{"pathway": "origin", "ok": True, "bytes": -1}]},
            422,
            "invalid_request",
        ),
        ({"token": "GOOD", "reports": [{"pathway": "../x", "ok": True}]}, 422, "invalid_request"),
        ({"token": "GOOD"}, 422, "invalid_request"),
        ({"reports": [{"pathway": "origin", "ok": True}]}, 422, "invalid_request"),
    ],
)
async def test_bad_batches_get_one_clear_json_error_and_store_nothing(api, body, status, code):
    (a,) = await _node_ids(api, 1)
    if body.get("token") == "GOOD":
        body = body | {"token": await watch_token(api.ctx, "demo", [a], datetime.now(UTC))}
    response = await api.client.post("/api/v1/watch/reports", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    async with api.ctx.db.session() as session:
        assert (await session.scalars(select(ViewerReport))).all() == []


async def test_an_expired_token_is_refused(api):
    (a,) = await _node_ids(api, 1)
    secret = await app_report_secret(api.ctx)
    token = issue_report_token(secret, "demo", [a], datetime.now(UTC) - timedelta(hours=1))
    response = await api.client.post(
        "/api/v1/watch/reports", json={"token": token, "reports": [{"pathway": a, "ok": False}]}
    )
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


async def test_the_secret_survives_a_restart_of_the_app(api, settings):
    from coordinator_service.api.app import create_app
    from coordinator_service.api.state import context

    first = await app_report_secret(api.ctx)
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        assert await app_report_secret(context(other)) == first
    assert len(first) == 32


async def test_report_batches_are_rate_limited_per_address(app, settings):
    from coordinator_service.api.ratelimit import RateLimits
    from coordinator_service.api.state import context

    ctx = context(app)
    ctx.limits = RateLimits(settings.model_copy(update={"rate_limit_report": "2/minute"}))
    await _register_stream(app)
    token = await watch_token(ctx, "demo", [], datetime.now(UTC))
    body = {"token": token, "reports": [{"pathway": "origin", "ok": True}]}
    statuses = {}
    for ip in ("127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.3"):
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://c.test") as client:
            response = await client.post("/api/v1/watch/reports", json=body)
            statuses.setdefault(ip, []).append(response.status_code)
    assert statuses == {"127.0.0.2": [202, 202, 429], "127.0.0.3": [202]}


async def _register_stream(app):
    from coordinator_service.api.state import context
    from coordinator_service.services.streams import create_stream

    async with context(app).db.transaction() as session:
        await create_stream(
            session,
            name="demo",
            origin_url="http://o.test/live/demo.m3u8",
            pool_per_hour_minor=1,
            currency="USD",
        )
