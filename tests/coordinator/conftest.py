"""Coordinator fixtures: an app per test on SQLite and on PostgreSQL, and an HTTP client into it."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from coordinator_service.api.app import create_app
from coordinator_service.api.state import AppContext, context
from coordinator_service.config import Settings
from coordinator_service.services.srs_hooks import hook_secret
from coordinator_service.storage.models import Stream
from tests.fixtures.postgres import empty_tables


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database of one test: a SQLite file, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'coordinator.db'}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(empty_tables(url))
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings of a test app: its own data dir; limits high enough not to get in the way."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_url="http://coord.test:8000",
        heartbeat_interval=30,
        rate_limit_ip="10000/minute",
        rate_limit_register="10000/minute",
        rate_limit_node="10000/minute",
    )


@dataclass
class Api:
    """An HTTP client into a running test app, with helpers for the usual set-up."""

    app: FastAPI
    client: httpx.AsyncClient
    registered: int = 0

    @property
    def ctx(self) -> AppContext:
        return context(self.app)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ctx.admin_token}"}

    async def create_stream(self, name: str = "demo", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "origin_url": f"http://origin.test/live/{name}.m3u8"}
        body |= {"pool_per_hour_minor": 3600} | fields
        response = await self.client.post("/api/v1/admin/streams", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def publish(self, stream: str = "demo", action: str = "on_publish") -> None:
        """Call SRS's hook as SRS does when OBS starts (or, `on_unpublish`, stops) publishing.

        The stream is then live (viewers may go to its nodes) though the test origin is never
        read: an origin the coordinator cannot read is no evidence against the hook.
        """
        async with self.ctx.db.transaction() as session:
            secret = await hook_secret(session)
            key = await session.scalar(select(Stream.publish_key).where(Stream.name == stream))
            await session.commit()
        body = {"action": action, "app": "live", "stream": stream, "param": f"?key={key}"}
        response = await self.client.post(f"/api/v1/hooks/srs/{secret}", json=body)
        assert response.json() == {"code": 0}, response.text

    async def create_invite(self, **fields: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/admin/invites", json=fields, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def register(self, code: str | None = None, **fields: Any) -> dict[str, Any]:
        if code is None:
            code = (await self.create_invite())["code"]
        self.registered += 1  # a relay URL is held by one node: each gets its own port
        body = {
            "invite_code": code,
            "display_name": "Alice",
            "payout_handle": "@alice",
            "relay_port": 8089 + self.registered,
        } | fields
        response = await self.client.post("/api/v1/nodes/register", json=body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def beat(self, token: str, **fields: Any) -> httpx.Response:
        """Heartbeat as a current node (it signs every segment) unless `fields` say otherwise."""
        body = {"segment_proofs": True} | fields
        return await self.client.post(
            "/api/v1/nodes/heartbeat", json=body, headers={"Authorization": f"Bearer {token}"}
        )


def without_prober(app: FastAPI) -> FastAPI:
    """Take the prober out of `app`'s background jobs (before its lifespan starts), for tests
    whose made-up origins it would poll meanwhile: a failed poll ends a seeded live stream and
    clears an origin index's variants."""
    ctx = context(app)
    ctx.background = [job for job in ctx.background if job.__name__ != "prober"]
    return app


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """A coordinator app with its lifespan running (migrated, writer started)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[Api]:
    """A client into `app` through ASGITransport (the client address is 127.0.0.1)."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://coord.test") as client:
        yield Api(app, client)
