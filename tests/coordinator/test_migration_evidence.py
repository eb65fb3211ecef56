"""Migration 0002_evidence: an existing database gains the evidence tables and keeps its data."""

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import func, select, text

from coordinator_service.storage.db import Database, migrations_config
from coordinator_service.storage.models import PeerAudit, ViewerReport

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def test_upgrading_a_0001_database_keeps_nodes_and_streams(database_url):
    db = Database(database_url)
    try:

        def to_0001(connection):
            command.upgrade(migrations_config(connection), "0001_initial")

        async with db.writer.begin() as conn:
            await conn.run_sync(to_0001)
            await conn.execute(
                text(
                    "INSERT INTO streams (id, name, origin_url, pool_per_hour_minor, currency, "
                    "paused, live, created_at) VALUES (1, 'demo', 'http://o/live/demo.m3u8', 60, "
                    "'USD', false, true, :now)"
                ),
                {"now": NOW},
            )
            for node in ("n1", "n2"):
                await conn.execute(
                    text(
                        "INSERT INTO nodes (id, token_hash, probe_key, display_name, "
                        "payout_handle, anonymous, relay_url, registered_ip, capacity_kbit, "
                        "viewers, bytes_served, version, status, reputation_alpha, "
                        "reputation_beta, flagged, streams_reported, created_at) VALUES (:id, "
                        ":id, 'k', 'A', '@a', false, 'http://127.0.0.1:1', '', 5000, 0, 0, '', "
                        "'active', 20.0, 0.0, false, '', :now)"
                    ),
                    {"id": node, "now": NOW},
                )
        await db.migrate()
        async with db.transaction() as session:
            session.add(
                ViewerReport(
                    at=NOW,
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
                    assigned_at=NOW,
                    expires_at=NOW,
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
