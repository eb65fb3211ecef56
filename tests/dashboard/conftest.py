"""Dashboard fixtures: the real coordinator app (lifespan running) and a browser-like client."""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.api.app import create_app
from coordinator_service.api.state import AppContext, context
from coordinator_service.config import Settings
from tests.coordinator.conftest import without_prober
from tests.fixtures.postgres import empty_tables

__all__ = ["CSRF_RE", "Dash", "csrf_of"]

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PUBLIC_URL = "http://coord.test:8000"


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form in a page."""
    found = CSRF_RE.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Dash:
    """The coordinator app under test and a client that keeps cookies like a browser."""

    app: FastAPI
    client: httpx.AsyncClient

    @property
    def ctx(self) -> AppContext:
        return context(self.app)

    @property
    def admin_token(self) -> str:
        return self.ctx.admin_token

    def db(self) -> AbstractAsyncContextManager[AsyncSession]:
        """Open a writing session on the app's database (the caller commits)."""
        return self.ctx.db.transaction()

    async def sign_in(self) -> None:
        page = await self.client.get("/login")
        response = await self.client.post(
            "/login",
            data={"token": self.admin_token, "csrf_token": csrf_of(page.text), "next": "/"},
        )
        assert response.status_code == 303, response.text

    async def csrf(self, path: str = "/") -> str:
        return csrf_of((await self.client.get(path)).text)


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite by default; tests that also run on PostgreSQL override the params."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'coordinator.db'}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(empty_tables(url))
    return url


@pytest.fixture
async def dash(tmp_path: Path, database_url: str) -> AsyncIterator[Dash]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_url=PUBLIC_URL,
        heartbeat_interval=30,
    )
    # the pages show what the tests seed (seen under load: "0 streams live")
    app = without_prober(create_app(settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Dash(app, client)
