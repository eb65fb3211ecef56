"""Schema upgrades keep existing data: a database built at an older revision, then upgraded."""

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from coordinator_service.storage.db import Database, migrations_config
from coordinator_service.storage.models import PeerAudit, ViewerReport

T0 = datetime(2026, 3, 1, tzinfo=UTC)


async def _migrate_to(db: Database, revision: str) -> None:
    """Build the schema at `revision` from scratch (the run's PostgreSQL database is shared)."""

    def upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        command.upgrade(migrations_config(connection), revision)

    async with db.writer.begin() as conn:
        await conn.run_sync(upgrade)


async def _insert_node(db: Database, node_id: str) -> None:
    async with db.writer.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO nodes (id, token_hash, probe_key, display_name, payout_handle,"
                " anonymous, relay_url, registered_ip, capacity_kbit, viewers, bytes_served,"
                " version, status, reputation_alpha, reputation_beta, flagged,"
                " streams_reported, created_at) VALUES (:id, :th, 'k', 'Old Name', '@old',"
                " false, 'http://203.0.113.9:8090', '', 0, 0, 0, '1', 'active', 20, 0, false,"
                " '', :at)"
            ),
            {"id": node_id, "th": node_id.ljust(64, "0"), "at": T0},
        )


async def test_node_profile_upgrade_keeps_nodes_without_a_change(database_url) -> None:
    db = Database(database_url)
    try:
        await _migrate_to(db, "0001_initial")
        await _insert_node(db, "n1")
        await db.migrate()
        async with db.session() as session:
            row = (
                await session.execute(
                    text("SELECT display_name, payout_handle, profile_changed_at FROM nodes")
                )
            ).one()
            changes = (
                await session.execute(text("SELECT count(*) FROM node_profile_changes"))
            ).scalar()
        assert tuple(row) == ("Old Name", "@old", None)
        assert changes == 0
    finally:
        await db.dispose()


async def test_evidence_upgrade_keeps_nodes_and_streams(database_url) -> None:
    db = Database(database_url)
    try:
        await _migrate_to(db, "0002_node_profile")
        await _insert_node(db, "n1")
        await _insert_node(db, "n2")
        async with db.writer.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO streams (id, name, origin_url, pool_per_hour_minor, currency,"
                    " paused, live, created_at) VALUES (1, 'demo', 'http://o/live/demo.m3u8', 60,"
                    " 'USD', false, true, :at)"
                ),
                {"at": T0},
            )
        await db.migrate()
        async with db.transaction() as session:
            session.add(
                ViewerReport(
                    at=T0,
                    stream_id=1,
                    node_id="n1",
                    address="127.0.0.2",
                    viewer="v",
                    ok_count=1,
                    fail_count=0,
                    bytes=10,
                    ms=1,
                )
            )
            session.add(
                PeerAudit(
                    id="a1",
                    node_id="n1",
                    auditor_id="n2",
                    stream_id=1,
                    url="http://x",
                    assigned_at=T0,
                    expires_at=T0,
                )
            )
            await session.commit()
        async with db.session() as session:
            assert await session.scalar(text("SELECT count(*) FROM nodes")) == 2
            assert await session.scalar(text("SELECT name FROM streams")) == "demo"
            assert await session.scalar(select(func.count()).select_from(ViewerReport)) == 1
            audit = await session.get(PeerAudit, "a1")
            assert audit is not None and audit.reason == "" and audit.counted is False
    finally:
        await db.dispose()


async def test_pool_history_upgrade_keeps_each_pool_as_the_first_row_and_adds_keys(
    database_url,
) -> None:
    db = Database(database_url)
    try:
        await _migrate_to(db, "0004_relay_certificates")
        async with db.writer.begin() as conn:
            for name, pool, currency in (("main", 600, "USD"), ("yen", 900, "JPY")):
                await conn.execute(
                    text(
                        "INSERT INTO streams (name, origin_url, pool_per_hour_minor, currency,"
                        " paused, live, created_at) VALUES (:n, 'http://o/x.m3u8', :p, :c,"
                        " false, false, :at)"
                    ),
                    {"n": name, "p": pool, "c": currency, "at": T0},
                )
        await db.migrate()
        async with db.session() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT s.name, h.pool_per_hour_minor, h.currency, h.effective_from,"
                        " s.publish_key FROM stream_pool_history h JOIN streams s"
                        " ON s.id = h.stream_id ORDER BY s.name"
                    )
                )
            ).all()
        assert [(r[0], r[1], r[2]) for r in rows] == [("main", 600, "USD"), ("yen", 900, "JPY")]
        assert all(str(r[3]).startswith("2026-03-01") for r in rows)
        keys = [r[4] for r in rows]
        assert all(len(k) >= 24 for k in keys) and keys[0] != keys[1]
    finally:
        await db.dispose()
