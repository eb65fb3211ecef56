"""Migration 0008_slot_history keeps nodes and streams, and starts each node's capacity history
at the upgrade (no credit is taken for time before it)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from coordinator_service.ledger.credit import as_utc
from coordinator_service.storage.db import Database
from tests.coordinator.test_migration_stream_hooks import seeded_at, upgrade_to
from tests.fixtures.postgres import fresh_postgres_or_skip

PREVIOUS = "0007_relay_identity"
SEED = [
    "INSERT INTO streams (id, name, origin_url, pool_per_hour_minor, currency, paused, live,"
    " live_changed_at, created_at, publish_key) VALUES (1, 'main', 'http://o/live/main.m3u8',"
    " 3600, 'USD', false, true, '2026-03-01 10:00:00+00:00', '2026-03-01 09:00:00+00:00', 'k')",
    "INSERT INTO nodes (id, token_hash, probe_key, display_name, payout_handle, anonymous,"
    " relay_url, registered_ip, capacity_kbit, viewers, bytes_served, version, status,"
    " reputation_alpha, reputation_beta, flagged, streams_reported, created_at) VALUES"
    " ('n1', 'h1', 'k1', 'Alice', '@alice', false, 'http://203.0.113.7:8430', '', 500, 0, 0,"
    " '1', 'active', 20, 0, false, '', '2026-03-01 09:00:00+00:00')",
    "INSERT INTO uptime_intervals (node_id, stream_id, started_at, ended_at) VALUES"
    " ('n1', 1, '2026-03-01 10:00:00+00:00', '2026-03-01 11:00:00+00:00')",
]


async def check_upgrade(url: str) -> None:
    engine = await seeded_at(url, PREVIOUS, SEED)
    before = datetime.now(UTC).replace(microsecond=0)
    await upgrade_to(url, "0008_slot_history")
    async with engine.connect() as conn:
        node = (await conn.execute(text("SELECT display_name, capacity_kbit FROM nodes"))).one()
        spans = (await conn.execute(text("SELECT count(*) FROM uptime_intervals"))).scalar()
        history = (
            await conn.execute(
                text("SELECT node_id, capacity_kbit, started_at FROM node_capacity_changes")
            )
        ).all()
        bitrates = (
            await conn.execute(text("SELECT count(*) FROM stream_bitrate_changes"))
        ).scalar()
    await engine.dispose()
    assert tuple(node) == ("Alice", 500) and spans == 1 and bitrates == 0
    assert [(node_id, kbit) for node_id, kbit, _ in history] == [("n1", 500)]
    started = history[0][2]
    if isinstance(started, str):  # SQLite text
        started = datetime.fromisoformat(started)
    assert as_utc(started) >= before  # from the upgrade on, never before it


async def test_upgrade_keeps_nodes_and_starts_capacity_history_on_sqlite(tmp_path: Path) -> None:
    await check_upgrade(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    await db.migrate()  # and on to whatever head is now
    await db.dispose()


@pytest.mark.postgres
async def test_upgrade_keeps_nodes_and_starts_capacity_history_on_postgresql() -> None:
    with fresh_postgres_or_skip("streamr_migration_slots") as url:
        await check_upgrade(url)
