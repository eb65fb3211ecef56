"""The heartbeat's lean ASGI path answers exactly as FastAPI's ordinary path would."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from coordinator_service.api.app import create_app
from coordinator_service.api.fast_path import CoordinatorApp, FastRoute, fast_route_for
from coordinator_service.api.routes import nodes
from coordinator_service.api.routes.nodes import HEARTBEAT_PATH
from coordinator_service.config import Settings
from tests.coordinator.conftest import Api


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the path under test is the HTTP layer, the same on either database."""
    return f"sqlite+aiosqlite:///{tmp_path / 'coordinator.db'}"


@asynccontextmanager
async def _client(app: FastAPI) -> AsyncIterator[Api]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://coord.test") as client:
            yield Api(app, client)


@asynccontextmanager
async def _pair(settings: Settings, **overrides: Any) -> AsyncIterator[tuple[Api, Api]]:
    """Two coordinators with the same settings: with the fast path, and with it taken out."""
    apps = []
    for name in ("fast", "plain"):
        folder = settings.data_dir.parent / name
        update = {"data_dir": folder, "database_url": f"sqlite+aiosqlite:///{folder}.db"}
        app = create_app(settings.model_copy(update=update | overrides))
        if name == "plain":
            app.fast_route = None
        apps.append(app)
    async with _client(apps[0]) as fast, _client(apps[1]) as plain:
        yield fast, plain


async def _joined(api: Api) -> str:
    await api.create_stream("demo")
    return str((await api.register())["node_token"])


def _shape(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    """Status, body (times and ids masked) and the headers a client relies on."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict) and "server_time" in body:
        body = body | {"server_time": "T"}
    keep = ("content-type", "www-authenticate", "retry-after")
    return (
        response.status_code,
        body,
        {k: response.headers[k] for k in keep if k in response.headers},
    )


CASES: list[tuple[str, dict[str, str], bytes | None]] = [
    ("valid beat", {"content-type": "application/json"}, b'{"segment_proofs": true}'),
    (
        "streams",
        {"content-type": "application/json"},
        b'{"segment_proofs":true,"streams":[{"name":"demo","live":true}]}',
    ),
    ("charset", {"content-type": "application/json; charset=utf-8"}, b'{"viewers": 3}'),
    ("not json", {"content-type": "application/json"}, b"{nope"),
    ("wrong type", {"content-type": "application/json"}, b'{"viewers": "many"}'),
    ("negative", {"content-type": "application/json"}, b'{"viewers": -1}'),
    ("not an object", {"content-type": "application/json"}, b"[1, 2]"),
    (
        "bad relay url",
        {"content-type": "application/json"},
        b'{"relay_url": "http://a.test:8/x?y"}',
    ),
    ("form body", {"content-type": "application/x-www-form-urlencoded"}, b"viewers=1"),
    ("no content type", {}, b'{"viewers": 1}'),
    ("empty body", {"content-type": "application/json"}, b""),
    ("too large", {"content-type": "application/json"}, b'{"version":"' + b"x" * 70_000 + b'"}'),
]


async def test_fast_and_ordinary_paths_answer_alike(settings: Settings) -> None:
    async with _pair(settings) as sides:
        tokens = [await _joined(side) for side in sides]
        for case, headers, body in CASES:
            for auth in ("good", "wrong", "none"):
                answers = []
                for side, token in zip(sides, tokens, strict=True):
                    sent = dict(headers)
                    if auth != "none":
                        sent["authorization"] = f"Bearer {token if auth == 'good' else 'x' * 43}"
                    response = await side.client.post(HEARTBEAT_PATH, content=body, headers=sent)
                    answers.append(_shape(response))
                assert answers[0] == answers[1], (case, auth)
        fast_route = _fast_route(sides[0].app)
        assert fast_route is not None
        served = fast_route.served
        assert served >= 3 * 2  # well-formed beats took the fast path (good and wrong tokens)
        # the same requests counted alike, by route template and status, on both sides
        counted = [_route_counts((await side.client.get("/metrics")).text) for side in sides]
        assert counted[0] == counted[1]
        assert counted[0][("POST", HEARTBEAT_PATH, "200")] >= 3
        assert _fast_route(sides[1].app) is None


def _route_counts(metrics: str) -> dict[tuple[str, str, str], float]:
    """streamr_http_requests_total by (method, route, status), and latency observation counts."""
    counts = {}
    for line in metrics.splitlines():
        if line.startswith(
            ("streamr_http_requests_total{", "streamr_http_request_duration_seconds_count{")
        ):
            labels, value = line.rsplit(" ", 1)
            parts = dict(p.split("=", 1) for p in labels[labels.index("{") + 1 : -1].split(","))
            key = (
                parts.get("method", "-").strip('"'),
                parts["route"].strip('"'),
                parts.get("status", "count").strip('"'),
            )
            counts[key] = float(value)
    return counts


async def test_a_streamed_body_over_the_limit_is_refused_alike(settings: Settings) -> None:
    async def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 4096

    async with _pair(settings) as sides:
        answers = []
        for side in sides:
            response = await side.client.post(
                HEARTBEAT_PATH, content=chunks(), headers={"content-type": "application/json"}
            )
            answers.append(_shape(response))
    assert answers[0] == answers[1]
    assert answers[0][0] == 413


def _fast_route(app: FastAPI) -> FastRoute | None:
    """The app's FastRoute, or None."""
    return app.fast_route if isinstance(app, CoordinatorApp) else None


async def test_the_fast_path_is_on_and_metrics_are_labelled_by_the_route(api: Api) -> None:
    assert fast_route_for(api.app, nodes.router, HEARTBEAT_PATH) is not None
    token = await _joined(api)
    assert (await api.beat(token)).status_code == 200
    assert (await api.beat("y" * 43)).status_code == 401
    metrics = (await api.client.get("/metrics")).text
    assert f'route="{HEARTBEAT_PATH}",status="200"' in metrics
    assert f'route="{HEARTBEAT_PATH}",status="401"' in metrics
    assert 'streamr_heartbeats_total{state="healthy"} 1.0' in metrics


async def test_rate_limited_beats_answer_alike(settings: Settings) -> None:
    answers = []
    async with _pair(settings, rate_limit_node="2/minute") as sides:
        for side in sides:
            token = await _joined(side)
            statuses = [await side.beat(token) for _ in range(3)]
            answers.append(_shape(statuses[-1]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 429


async def test_openapi_schema_is_the_same_with_and_without_the_fast_path(
    settings: Settings,
) -> None:
    async with _pair(settings) as (fast, plain):
        ours = (await fast.client.get("/openapi.json")).json()
        theirs = (await plain.client.get("/openapi.json")).json()
    assert ours == theirs
    assert HEARTBEAT_PATH in ours["paths"]


def test_an_endpoint_with_dependencies_keeps_the_ordinary_path() -> None:
    from fastapi import APIRouter, Depends, Request
    from pydantic import BaseModel

    class Body(BaseModel):
        x: int = 0

    app = FastAPI()
    router = APIRouter()

    @router.post("/beat")
    async def beat(body: Body, request: Request, extra: int = Depends(lambda: 1)) -> dict[str, int]:
        return {"x": body.x + extra}

    @router.post("/plain")
    async def plain(body: Body, request: Request) -> dict[str, int]:
        return {"x": body.x}

    app.include_router(router)
    assert fast_route_for(app, router, "/beat") is None
    assert fast_route_for(app, router, "/missing") is None
    assert fast_route_for(app, router, "/plain") is not None
    guarded = APIRouter(dependencies=[Depends(lambda: 1)])
    guarded.add_api_route("/plain", plain, methods=["POST"])
    assert fast_route_for(app, guarded, "/plain") is None
