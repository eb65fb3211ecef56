"""Migration 0004_relay_certificates: a database at the revision before it keeps its nodes and
gains the relay_certificates table (SQLite and PostgreSQL)."""

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text

from coordinator_service.storage.db import Database, migrations_config
from tests.fixtures.postgres import fresh_postgres

REVISION = "0004_relay_certificates"
PREVIOUS = "0003_evidence"

NODE = {
    "id": "0123456789abcdef",
    "token_hash": "t" * 64,
    "probe_key": "probe",
    "display_name": "Bob",
    "payout_handle": "bob@example.org",
    "anonymous": False,
    "relay_url": "http://203.0.113.7:8090",
    "registered_ip": "203.0.113.7",
    "capacity_kbit": 10000,
    "viewers": 3,
    "bytes_served": 12345,
    "version": "0.1.0",
    "status": "active",
    "reputation_alpha": 2.0,
    "reputation_beta": 0.5,
    "flagged": False,
    "streams_reported": "[]",
    "created_at": datetime(2026, 11, 1, 12, tzinfo=UTC),
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_database_url(request, tmp_path):
    """An empty database: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    with fresh_postgres("streamr_mig") as url:
        yield url


async def test_upgrade_keeps_nodes_and_adds_relay_certificates(fresh_database_url):
    db = Database(fresh_database_url)
    try:

        def to(revision: str):
            return lambda connection: command.upgrade(migrations_config(connection), revision)

        async with db.writer.begin() as conn:
            await conn.run_sync(to(PREVIOUS))
            columns = ", ".join(NODE)
            values = ", ".join(f":{k}" for k in NODE)
            await conn.execute(text(f"INSERT INTO nodes ({columns}) VALUES ({values})"), NODE)
        async with db.writer.begin() as conn:
            await conn.run_sync(to(REVISION))
            await conn.execute(
                text(
                    "INSERT INTO relay_certificates (node_id, name, csr_pem, requested_at,"
                    " last_error) VALUES (:id, 'n', 'csr', :at, '')"
                ),
                {"id": NODE["id"], "at": datetime(2026, 11, 2, tzinfo=UTC)},
            )
        async with db.writer.connect() as conn:
            node = (await conn.execute(text("SELECT * FROM nodes"))).mappings().one()
            assert {k: node[k] for k in ("id", "relay_url", "bytes_served", "viewers")} == {
                k: NODE[k] for k in ("id", "relay_url", "bytes_served", "viewers")
            }
            rows = (await conn.execute(text("SELECT node_id, name FROM relay_certificates"))).all()
            assert [tuple(r) for r in rows] == [(NODE["id"], "n")]
        await db.migrate()  # on to head from there
    finally:
        await db.dispose()
