"""Migration 0006_stream_hooks upgrades a database with streams and live intervals intact."""

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from coordinator_service.storage.db import Database, migrations_config
from tests.fixtures.postgres import fresh_postgres_or_skip


async def upgrade_to(url: str, revision: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(migrations_config(c), revision))
    await engine.dispose()


async def seeded_at(url: str, revision: str, statements: list[str]) -> AsyncEngine:
    """Upgrade to `revision`, run `statements` there; return an engine on the database."""
    await upgrade_to(url, revision)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    return engine


PREVIOUS = "0005_stream_pool_keys"
SEED = [
    "INSERT INTO streams (id, name, origin_url, pool_per_hour_minor, currency, paused, live,"
    " live_changed_at, created_at) VALUES (1, 'main', 'http://o/live/main.m3u8', 3600, 'USD',"
    " false, true, '2026-03-01 10:00:00+00:00', '2026-03-01 09:00:00+00:00')",
    "INSERT INTO stream_live_intervals (id, stream_id, started_at, ended_at) VALUES"
    " (1, 1, '2026-03-01 10:00:00+00:00', '2026-03-01 11:00:00+00:00')",
]


async def check_upgrade(url: str) -> None:
    engine = await seeded_at(url, PREVIOUS, SEED)
    await upgrade_to(url, "0006_stream_hooks")
    async with engine.connect() as conn:
        stream = (
            await conn.execute(text("SELECT name, live, hook_live, hook_at FROM streams"))
        ).one()
        spans = (await conn.execute(text("SELECT count(*) FROM stream_live_intervals"))).scalar()
    await engine.dispose()
    assert (stream[0], bool(stream[1]), stream[2], stream[3]) == ("main", True, None, None)
    assert spans == 1


async def test_upgrade_keeps_streams_and_live_intervals_on_sqlite(tmp_path: Path) -> None:
    await check_upgrade(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await db.migrate()  # and on to whatever head is now
    await db.dispose()


@pytest.mark.postgres
async def test_upgrade_keeps_streams_and_live_intervals_on_postgresql() -> None:
    with fresh_postgres_or_skip("streamr_migration") as url:
        await check_upgrade(url)
