"""Real SQLite and PostgreSQL databases with the coordinator's tables, and seeding helpers."""

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.storage.db import Database
from coordinator_service.storage.models import (
    FlagInterval,
    Node,
    Stream,
    StreamLiveInterval,
    UptimeInterval,
)
from tests.fixtures.postgres import empty_tables

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    """Return T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


@asynccontextmanager
async def open_database(url: str) -> AsyncIterator[SessionFactory]:
    """Yield a session factory on an empty database built by the coordinator's migrations
    (SQLite: WAL, one writer that begins IMMEDIATE; PostgreSQL: the run's database, emptied)."""
    db = Database(url)
    try:
        await db.migrate()
        if not db.is_sqlite:
            await empty_tables(url)
        yield db.transaction
    finally:
        await db.dispose()


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def database_for(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL for a test parametrized by DATABASES: a new SQLite file or the run's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=DATABASES)
async def sessions(request, tmp_path: Path) -> AsyncIterator[SessionFactory]:
    """Yield a session factory on a fresh SQLite or an emptied PostgreSQL database."""
    async with open_database(database_for(request, tmp_path)) as factory:
        yield factory


class Seeder:
    """Adds streams, nodes and intervals with readable arguments (seconds after T0)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stream(self, name: str = "main", pool_per_hour: int = 600, currency: str = "USD"):
        stream = Stream(
            name=name,
            origin_url=f"http://127.0.0.1:1/live/{name}.m3u8",
            pool_per_hour_minor=pool_per_hour,
            currency=currency,
            created_at=T0,
        )
        self.session.add(stream)
        await self.session.flush()
        return stream

    async def node(self, node_id: str, *, relay: str | None = None, anonymous: bool = False, **kw):
        node = Node(
            id=node_id,
            token_hash=secrets.token_hex(32),
            probe_key=secrets.token_hex(16),
            display_name=kw.pop("display_name", node_id.capitalize()),
            payout_handle=kw.pop("payout_handle", f"@{node_id}"),
            anonymous=anonymous,
            relay_url=relay or f"http://10.0.0.{len(node_id)}:{8000 + sum(map(ord, node_id))}",
            created_at=kw.pop("created_at", T0),
            **kw,
        )
        self.session.add(node)
        await self.session.flush()
        return node

    async def live(self, stream: Stream, *spans: tuple[int, int]) -> None:
        for start, end in spans:
            self.session.add(
                StreamLiveInterval(stream_id=stream.id, started_at=at(start), ended_at=at(end))
            )
        await self.session.flush()

    async def up(self, node_id: str, stream: Stream | None, *spans: tuple[int, int]) -> None:
        for start, end in spans:
            self.session.add(
                UptimeInterval(
                    node_id=node_id,
                    stream_id=None if stream is None else stream.id,
                    started_at=at(start),
                    ended_at=at(end),
                )
            )
        await self.session.flush()

    async def flag(self, node_id: str, start: int, end: int | None) -> None:
        self.session.add(
            FlagInterval(
                node_id=node_id,
                started_at=at(start),
                ended_at=None if end is None else at(end),
                reason="test",
            )
        )
        await self.session.flush()


# The coordinator's app fixtures (an app per test on SQLite and PostgreSQL, a client into it).
from tests.coordinator.conftest import (  # noqa: E402
    Api,
    api,
    app,
    database_url,
    settings,
)

__all__ = ["Api", "api", "app", "database_url", "settings"]
