"""Storage: the migrations build exactly the ORM tables; SQLite is set up for several processes."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from coordinator_service.storage.db import Database
from coordinator_service.storage.models import Base


async def test_migrations_match_the_models(database_url):
    db = Database(database_url)
    try:
        await db.migrate()
        await db.migrate()  # idempotent

        def diff(connection):
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)

        async with db.writer.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await db.dispose()


async def test_sqlite_uses_wal_foreign_keys_and_busy_timeout(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        await db.migrate()
        async with db.session() as session:
            assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
    finally:
        await db.dispose()


async def test_a_nested_write_on_sqlite_fails_with_a_clear_error_instead_of_hanging(
    tmp_path, monkeypatch
):
    import coordinator_service.storage.db as db_module
    from coordinator_service.errors import StorageError

    monkeypatch.setattr(db_module, "WRITE_TURN_TIMEOUT", 0.2)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        await db.migrate()
        async with db.transaction():
            with pytest.raises(StorageError, match="busy"):
                async with db.transaction():
                    pass
    finally:
        await db.dispose()
