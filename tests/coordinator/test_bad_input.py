"""Bad input of every kind gets a clear JSON 4xx, never a 5xx or a stack trace."""

from datetime import UTC, datetime

import httpx
import pytest

from coordinator_service.api.app import create_app
from coordinator_service.storage.models import Invite

NODE = {"display_name": "Eve", "payout_handle": "@eve", "relay_port": 8090}


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert "Traceback" not in response.text
    return str(body["error"]["message"])


async def _register(api, code: str) -> httpx.Response:
    api.registered += 1  # a relay URL is held by one node: each registration its own port
    body = {"invite_code": code, **NODE, "relay_port": 8089 + api.registered}
    return await api.client.post("/api/v1/nodes/register", json=body)


async def test_unknown_invite_code_is_404_invite_invalid(api):
    message = _error(await _register(api, "x" * 32), 404, "invite_invalid")
    assert "not valid" in message


async def test_expired_invite_is_410(api):
    invite = await api.create_invite()
    async with api.ctx.db.transaction() as session:
        row = await session.get(Invite, invite["id"])
        row.expires_at = datetime(2020, 1, 1, tzinfo=UTC)
        await session.commit()
    _error(await _register(api, invite["code"]), 410, "invite_expired")


async def test_used_up_invite_is_409(api):
    invite = await api.create_invite(uses=1)
    await api.register(invite["code"])
    _error(await _register(api, invite["code"]), 409, "invite_used_up")


async def test_revoked_invite_is_403(api):
    invite = await api.create_invite(uses=5)
    await api.client.post(f"/api/v1/admin/invites/{invite['id']}/revoke", headers=api.admin)
    _error(await _register(api, invite["code"]), 403, "invite_revoked")


async def test_malformed_invite_code_is_422(api):
    _error(await _register(api, "short"), 422, "invalid_request")


async def test_heartbeat_without_token_is_401(api):
    response = await api.client.post("/api/v1/nodes/heartbeat", json={})
    _error(response, 401, "missing_token")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_heartbeat_with_wrong_token_is_401(api):
    response = await api.beat("not-a-real-token")
    _error(response, 401, "bad_node_token")
    me = await api.client.get("/api/v1/nodes/me", headers={"Authorization": "Bearer nope"})
    _error(me, 401, "bad_node_token")


async def test_admin_routes_refuse_node_tokens_and_no_token(api):
    joined = await api.register()
    node_auth = {"Authorization": f"Bearer {joined['node_token']}"}
    _error(await api.client.get("/api/v1/admin/nodes", headers=node_auth), 401, "bad_admin_token")
    _error(await api.client.get("/api/v1/admin/invites"), 401, "missing_token")
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    _error(await api.client.get("/api/v1/admin/streams", headers=basic), 401, "missing_token")


async def test_oversized_body_is_413(api):
    body = b'{"display_name": "' + b"x" * 70_000 + b'"}'
    response = await api.client.post(
        "/api/v1/nodes/register", content=body, headers={"content-type": "application/json"}
    )
    _error(response, 413, "body_too_large")


async def test_oversized_chunked_body_is_413(api):
    async def chunks():
        for _ in range(20):
            yield b"x" * 8192

    response = await api.client.post(
        "/api/v1/nodes/register", content=chunks(), headers={"content-type": "application/json"}
    )
    _error(response, 413, "body_too_large")


async def test_small_chunked_body_still_works(api):
    code = (await api.create_invite())["code"]

    async def chunks():
        yield b'{"invite_code": "' + code.encode() + b'", '
        yield b'"display_name": "C", "payout_handle": "c", "relay_port": 9000}'

    response = await api.client.post(
        "/api/v1/nodes/register", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_bad_json_is_422_invalid_json(api):
    response = await api.client.post(
        "/api/v1/nodes/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in _error(response, 422, "invalid_json")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "bad name", "origin_url": "http://o.test/x.m3u8", "pool_per_hour_minor": 1},
        {"name": "a" * 65, "origin_url": "http://o.test/x.m3u8", "pool_per_hour_minor": 1},
        {"name": "ok", "origin_url": "ftp://o.test/x.m3u8", "pool_per_hour_minor": 1},
        {"name": "ok", "origin_url": "http://o.test/x.m3u8", "pool_per_hour_minor": -1},
        {"name": "ok", "origin_url": "http://o.test/x.m3u8", "pool_per_hour_minor": 10**13},
        {
            "name": "ok",
            "origin_url": "http://o.test/x.m3u8",
            "pool_per_hour_minor": 1,
            "currency": "usd",
        },
        {
            "name": "ok",
            "origin_url": "http://o.test/x.m3u8",
            "pool_per_hour_minor": 1,
            "extra": True,
        },
    ],
)
async def test_bad_stream_bodies_are_422(api, body):
    response = await api.client.post("/api/v1/admin/streams", json=body, headers=api.admin)
    _error(response, 422, "invalid_request")


async def test_bad_stream_name_in_path_is_422_and_unknown_is_404(api):
    bad = await api.client.get("/api/v1/admin/streams/bad%20name", headers=api.admin)
    _error(bad, 422, "invalid_request")
    missing = await api.client.patch(
        "/api/v1/admin/streams/nope", json={"paused": True}, headers=api.admin
    )
    _error(missing, 404, "unknown_stream")
    _error(
        await api.client.delete("/api/v1/admin/streams/nope", headers=api.admin),
        404,
        "unknown_stream",
    )


async def test_unknown_node_ban_is_404(api):
    _error(
        await api.client.post("/api/v1/admin/nodes/nope/ban", headers=api.admin),
        404,
        "unknown_node",
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"version": "1\u0000"},
        {"bytes_served": 2**70},
        {"viewers": -1},
        {"relay_url": "http://a.test/" + "x" * 3000},
        {"relay_url": "javascript:alert(1)"},
        {"streams": [{"name": "x", "live": True}] * 65},
        {"streams": [{"name": "../etc", "live": True}]},
    ],
)
async def test_bad_heartbeats_are_422_and_do_not_hurt_other_nodes(api, fields):
    bad, good = await api.register(), await api.register()
    _error(await api.beat(bad["node_token"], **fields), 422, "invalid_request")
    assert (await api.beat(good["node_token"])).status_code == 200


async def test_unknown_route_and_wrong_method_are_json(api):
    _error(await api.client.get("/nope"), 404, "not_found")
    _error(await api.client.get("/api/v1/nodes/heartbeat"), 405, "method_not_allowed")


async def test_nul_in_display_name_is_422(api):
    code = (await api.create_invite())["code"]
    response = await api.client.post(
        "/api/v1/nodes/register", json={"invite_code": code, **NODE, "display_name": "a\u0000b"}
    )
    _error(response, 422, "invalid_request")


async def test_heartbeat_flood_from_one_node_does_not_starve_another(settings):
    app = create_app(settings.model_copy(update={"rate_limit_node": "5/minute"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            from tests.coordinator.conftest import Api

            api = Api(app, client)
            flooder, quiet = await api.register(), await api.register()
            codes = [(await api.beat(flooder["node_token"])).status_code for _ in range(8)]
            assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3
            limited = await api.beat(flooder["node_token"])
            _error(limited, 429, "rate_limited")
            assert int(limited.headers["retry-after"]) >= 1
            assert (await api.beat(quiet["node_token"])).status_code == 200


async def test_registrations_are_limited_per_ip(settings):
    app = create_app(settings.model_copy(update={"rate_limit_register": "2/minute"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            from tests.coordinator.conftest import Api

            api = Api(app, client)
            invite = await api.create_invite(uses=10)
            statuses = [(await _register(api, invite["code"])).status_code for _ in range(3)]
            assert statuses == [201, 201, 429]


async def test_rate_limits_are_shared_through_redis(settings):
    """Two apps (replicas) on one Redis share a node's budget."""
    import redis.asyncio

    probe = redis.asyncio.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        await probe.ping()
    except OSError as exc:
        pytest.skip(f"!!! Redis on 127.0.0.1:6379 does not answer ({exc}): Redis test SKIPPED")
    finally:
        await probe.aclose()
    shared = settings.model_copy(
        update={"rate_limit_node": "4/minute", "redis_url": "redis://127.0.0.1:6379/0"}
    )
    first, second = create_app(shared), create_app(shared)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        from tests.coordinator.conftest import Api

        transport = httpx.ASGITransport(app=first, client=("127.0.0.1", 1))
        other = httpx.ASGITransport(app=second, client=("127.0.0.1", 1))
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://t") as one,
            httpx.AsyncClient(transport=other, base_url="http://t") as two,
        ):
            api = Api(first, one)
            joined = await api.register()
            api2 = Api(second, two)
            codes = [(await api.beat(joined["node_token"])).status_code for _ in range(2)]
            codes += [(await api2.beat(joined["node_token"])).status_code for _ in range(3)]
            assert codes == [200, 200, 200, 200, 429]
