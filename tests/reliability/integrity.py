"""Read back what the coordinator stored, and check the database's own integrity."""

import asyncio
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.fixtures.postgres import pg_dsn

__all__ = ["check_integrity", "node_ids", "uptime"]


def _sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def _sqlite(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(_sqlite_path(url), timeout=30)
    try:
        return list(conn.execute(sql, args))
    finally:
        conn.close()


async def _pg(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    import asyncpg

    conn = await asyncpg.connect(pg_dsn(url), timeout=5)
    try:
        return [tuple(row) for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run `sql` (with `?` placeholders) on SQLite or PostgreSQL; return plain tuples."""
    if url.startswith("sqlite"):
        return _sqlite(url, sql, *args)
    for number in range(1, len(args) + 1):
        sql = sql.replace("?", f"${number}", 1)
    return asyncio.run(_pg(url, sql, *args))


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace(" ", "T")).replace(tzinfo=None)


def node_ids(url: str) -> set[str]:
    """Every node id stored."""
    return {row[0] for row in query(url, "SELECT id FROM nodes")}


def uptime(url: str) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each node's "up" intervals (stream NULL), ordered, as naive UTC datetimes."""
    rows = query(
        url,
        "SELECT node_id, started_at, ended_at FROM uptime_intervals"
        " WHERE stream_id IS NULL ORDER BY node_id, started_at",
    )
    out: dict[str, list[tuple[datetime, datetime]]] = {}
    for node_id, started, ended in rows:
        start, end = _when(started), _when(ended)
        out.setdefault(node_id, []).append((start.replace(tzinfo=None), end.replace(tzinfo=None)))
    return out


def check_integrity(url: str) -> None:
    """Raise AssertionError unless the database checks out (SQLite pragmas; PostgreSQL amcheck)."""
    if url.startswith("sqlite"):
        assert query(url, "PRAGMA integrity_check") == [("ok",)]
        assert query(url, "PRAGMA foreign_key_check") == []
    else:
        query(url, "CREATE EXTENSION IF NOT EXISTS amcheck")
        indexes = query(
            url,
            "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE a.amname = 'btree' AND n.nspname = 'public'",
        )
        assert indexes
        for (index,) in indexes:  # raises on a corrupt B-tree or a heap tuple it misses
            query(url, f"SELECT bt_index_check('{index}'::regclass, true)")
        orphans = query(
            url,
            "SELECT count(*) FROM uptime_intervals u LEFT JOIN nodes n ON n.id = u.node_id"
            " WHERE n.id IS NULL",
        )
        assert orphans == [(0,)]
    backwards = query(url, "SELECT count(*) FROM uptime_intervals WHERE ended_at < started_at")
    assert backwards == [(0,)]
