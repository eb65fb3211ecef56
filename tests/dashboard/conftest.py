"""Dashboard fixtures: the dashboard on a real SQLite database, and a signed-in client."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from coordinator_service.dashboard import DashboardEnv, install
from coordinator_service.storage.models import Base

ADMIN_TOKEN = "admin-token-for-tests-0123456789abcdef"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form in a page."""
    found = CSRF_RE.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Dash:
    """A dashboard app under test."""

    app: FastAPI
    client: httpx.AsyncClient
    sessionmaker: async_sessionmaker[AsyncSession]
    data_dir: Path

    async def sign_in(self) -> None:
        page = await self.client.get("/login")
        response = await self.client.post(
            "/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf_of(page.text), "next": "/"}
        )
        assert response.status_code == 303, response.text

    async def csrf(self, path: str = "/") -> str:
        return csrf_of((await self.client.get(path)).text)


@pytest.fixture
async def dash(tmp_path: Path) -> AsyncIterator[Dash]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'coordinator.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()
    install(app, DashboardEnv(tmp_path, sessionmaker, sessionmaker, lambda: ADMIN_TOKEN, 90))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Dash(app, client, sessionmaker, tmp_path)
    finally:
        await engine.dispose()
