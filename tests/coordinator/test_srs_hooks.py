"""SRS `http_hooks` into the coordinator, with the request bodies SRS's documentation gives."""

import httpx
import pytest
from sqlalchemy import select

from coordinator_service.api.state import context
from coordinator_service.services.srs_hooks import hook_secret
from coordinator_service.storage.models import Stream, StreamLiveInterval
from tests.fixtures.coordinator import run_coordinator

# SRS 6 (docs: http-callback, `http_hooks` section of the config), with the `tcUrl` and
# `service_id` that SRS 5+ also sends.
ON_PUBLISH = {
    "server_id": "vid-0xk989d",
    "service_id": "ez2z6s9x",
    "action": "on_publish",
    "client_id": "341w361a",
    "ip": "127.0.0.1",
    "vhost": "__defaultVhost__",
    "app": "live",
    "tcUrl": "rtmp://127.0.0.1:1935/live",
    "stream": "demo",
    "param": "",
    "stream_url": "/live/demo",
    "stream_id": "vid-124q9y3",
}
ON_UNPUBLISH = ON_PUBLISH | {"action": "on_unpublish"}
# SRS 3 and older: integer client id, no ids of server or stream.
ON_PUBLISH_SRS3 = {
    "action": "on_publish",
    "client_id": 1985,
    "ip": "192.168.1.10",
    "vhost": "video.test.com",
    "app": "live",
    "stream": "demo",
}


@pytest.fixture
def app_hooks(settings):
    """The app without its prober: here nothing serves the origin, and the prober would say so."""
    from coordinator_service.api.app import create_app

    application = create_app(settings)
    jobs = context(application).background
    jobs[:] = [job for job in jobs if job.__name__ != "prober"]
    return application


@pytest.fixture
async def app(app_hooks):
    async with app_hooks.router.lifespan_context(app_hooks):
        yield app_hooks


async def hook_path(api) -> str:
    async with api.ctx.db.transaction() as session:
        return f"/api/v1/hooks/srs/{await hook_secret(session)}"


async def keyed(api, body: dict, name: str = "demo") -> dict:
    """The hook body with the stream's publish key in `param`, as OBS's `NAME?key=…` makes it."""
    async with api.ctx.db.session() as session:
        key = await session.scalar(select(Stream.publish_key).where(Stream.name == name))
    return body | {"param": f"?key={key}"}


async def live(api, name: str = "demo") -> bool:
    streams = (await api.client.get("/api/v1/streams")).json()
    return next(s["live"] for s in streams if s["name"] == name)


async def intervals(api) -> list[StreamLiveInterval]:
    async with api.ctx.db.session() as session:
        return list((await session.scalars(select(StreamLiveInterval))).all())


async def test_on_publish_marks_the_stream_live_at_once_and_answers_code_0(api):
    await api.create_stream("demo")
    path = await hook_path(api)
    assert await live(api) is False

    response = await api.client.post(path, json=await keyed(api, ON_PUBLISH))

    assert response.status_code == 200
    assert response.json() == {"code": 0}
    assert await live(api) is True
    [interval] = await intervals(api)
    assert interval.started_at == interval.ended_at


async def test_on_unpublish_ends_the_live_interval(api):
    await api.create_stream("demo")
    path = await hook_path(api)
    await api.client.post(path, json=await keyed(api, ON_PUBLISH))

    response = await api.client.post(path, json=ON_UNPUBLISH)

    assert response.json() == {"code": 0}
    assert await live(api) is False
    [interval] = await intervals(api)
    assert interval.ended_at >= interval.started_at

    # OBS reconnects: live again from that moment; the gap between is not counted (a
    # reconnect within a fraction of a second simply goes on with the same interval)
    await api.client.post(path, json=await keyed(api, ON_PUBLISH))
    assert await live(api) is True
    spans = sorted(await intervals(api), key=lambda s: s.started_at)
    assert len(spans) in (1, 2)
    assert len(spans) == 1 or spans[1].started_at > spans[0].ended_at


async def test_srs3_body_with_integer_client_id_is_understood(api):
    await api.create_stream("demo")
    response = await api.client.post(await hook_path(api), json=await keyed(api, ON_PUBLISH_SRS3))
    assert response.json() == {"code": 0}
    assert await live(api) is True


async def test_wrong_secret_is_refused_and_changes_nothing(api):
    await api.create_stream("demo")
    await hook_path(api)
    response = await api.client.post("/api/v1/hooks/srs/" + "x" * 32, json=ON_PUBLISH)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_hook_secret"
    assert await live(api) is False


async def test_hook_before_any_secret_exists_is_refused(api):
    await api.create_stream("demo")
    response = await api.client.post("/api/v1/hooks/srs/" + "a" * 32, json=ON_PUBLISH)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        ON_PUBLISH | {"stream": "someone-else"},
        ON_PUBLISH | {"app": "other"},
        ON_PUBLISH | {"action": "on_play"},
    ],
    ids=["unknown-stream", "other-app", "other-action"],
)
async def test_hooks_for_what_is_not_our_stream_are_allowed_and_ignored(api, body):
    await api.create_stream("demo")
    response = await api.client.post(await hook_path(api), json=body)
    assert response.json() == {"code": 0}
    assert await live(api) is False
    assert await intervals(api) == []


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"stream": "demo"}', b'{"action": 5, "stream": "demo"}'],
    ids=["not-json", "array", "no-action", "action-not-text"],
)
async def test_malformed_hook_bodies_are_a_4xx_with_a_json_error(api, content):
    await api.create_stream("demo")
    response = await api.client.post(
        await hook_path(api), content=content, headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert "error" in response.json()
    assert await live(api) is False


@pytest.mark.slow
def test_hook_url_printed_by_the_cli_marks_a_running_coordinators_stream_live(tmp_path):
    with run_coordinator(tmp_path) as coord:
        coord.cli(
            "stream", "add", "demo", "--origin", "http://127.0.0.1:8080/live/demo.m3u8",
            "--pool-per-hour", "1",
        )  # fmt: skip
        printed = coord.cli("hooks", "url", "--base", coord.url).stdout.strip().splitlines()
        url = printed[-1]
        assert url.startswith(f"{coord.url}/api/v1/hooks/srs/")
        shown = coord.cli("stream", "key", "demo").stdout.strip().splitlines()[-1]
        obs_key = shown.rsplit(" ", 1)[-1]
        assert obs_key.startswith("demo?key=")

        refused = httpx.post(url, json=ON_PUBLISH, timeout=10)  # no key: SRS refuses
        assert refused.status_code == 401
        param = "?" + obs_key.split("?", 1)[1]
        answer = httpx.post(url, json=ON_PUBLISH | {"param": param}, timeout=10)

        assert answer.status_code == 200 and answer.json() == {"code": 0}
        streams = httpx.get(f"{coord.url}/api/v1/streams", timeout=10).json()
        assert [s["live"] for s in streams] == [True]
        # The same URL again: the secret is kept, not made anew.
        assert coord.cli("hooks", "url", "--base", coord.url).stdout.strip().endswith(url)
        rotated = coord.cli("hooks", "rotate", "--base", coord.url).stdout.strip().splitlines()
        assert rotated[-1] != url
        assert httpx.post(url, json=ON_UNPUBLISH, timeout=10).status_code == 401


@pytest.mark.parametrize(
    "param",
    ["", "?key=", "?key=wrong", "?token=x", "?key=%s&key=extra"],
    ids=["none", "empty", "wrong", "other-name", "prefix"],
)
async def test_on_publish_without_the_streams_key_is_refused_and_changes_nothing(api, param):
    await api.create_stream("demo")
    good = (await keyed(api, ON_PUBLISH))["param"].split("=", 1)[1]
    param = param.replace("%s", good[:-1]) if "%s" in param else param
    response = await api.client.post(await hook_path(api), json=ON_PUBLISH | {"param": param})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_publish_key"
    assert await live(api) is False
    assert await intervals(api) == []


async def test_a_rotated_key_replaces_the_old_one(api):
    from coordinator_service.services.publish_keys import rotate_publish_key

    await api.create_stream("demo")
    old = await keyed(api, ON_PUBLISH)
    async with api.ctx.db.transaction() as session:
        stream = await session.scalar(select(Stream).where(Stream.name == "demo"))
        await rotate_publish_key(session, stream)
    path = await hook_path(api)
    assert (await api.client.post(path, json=old)).status_code == 401
    assert (await api.client.post(path, json=await keyed(api, ON_PUBLISH))).status_code == 200
    assert await live(api) is True
