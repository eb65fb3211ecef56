"""The heartbeat batch's SQL: one set of statements, two ways to run them.

`CoreOps` runs them through SQLAlchemy Core (every database); `SqliteOps` as plain sqlite3 calls
on the event loop's thread (the hot path on SQLite, see `Database.sqlite_writer`).
`write_heartbeats(db, work)` runs `work(ops)` in one write transaction on the fitting path.
tests/coordinator/test_heartbeat_sql.py runs both paths against each other.
"""

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import String, Table, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from coordinator_service.errors import StorageError
from coordinator_service.storage.db import SQLITE_BUSY_TIMEOUT_MS, SQLITE_LOCKED_RETRY, Database
from coordinator_service.storage.models import (
    UTC_DATETIME,
    Node,
    NodeCapacityChange,
    RelayEndpoint,
    UptimeInterval,
)

__all__ = ["CoreOps", "HeartbeatOps", "IntervalKey", "NodeRow", "SqliteOps", "write_heartbeats"]

T = TypeVar("T")
IntervalKey = tuple[str, int | None]
"""(node id, stream id); stream None is the node's own uptime."""
NodeRow = tuple[str, str, bool, str, int]
"""(node id, status, flagged, relay URL, capacity kbit) of a node, as a beat finds it."""


class HeartbeatOps(Protocol):
    """The statements of one heartbeat batch."""

    def nodes_by_token(self, token_hashes: Iterable[str]) -> dict[str, NodeRow]:
        """token hash -> (node id, status, flagged, relay URL, capacity) of the known tokens."""
        ...

    def relay_url_holders(self, urls: set[str], since: datetime) -> dict[str, str]:
        """relay URL -> id of the unbanned node holding it, heard from (or joined) since."""
        ...

    def insert_endpoints(self, endpoints: list[tuple[str, str]], now: datetime) -> None:
        """Record that each (node id, relay URL) took that URL at `now`."""
        ...

    def insert_capacities(self, changes: list[tuple[str, int]], now: datetime) -> None:
        """Record that each (node id, capacity kbit) took effect at `now`."""
        ...

    def update_nodes(self, params: list[dict[str, Any]]) -> None:
        """Store each beat's node fields (keys: nid, at, relay, viewers, bytes_served,
        capacity, version, reported)."""
        ...

    def open_intervals(
        self, keys: Sequence[IntervalKey], cutoff: datetime
    ) -> dict[IntervalKey, int]:
        """The latest interval of each key that ended at or after `cutoff`."""
        ...

    def extend_intervals(self, interval_ids: list[int], now: datetime) -> None:
        """Move the intervals' ends to `now` (never backwards)."""
        ...

    def insert_intervals(self, keys: Sequence[IntervalKey], now: datetime) -> list[int]:
        """Open a new interval per key at `now`; their ids in the keys' order."""
        ...


async def write_heartbeats(
    db: Database, work: Callable[[HeartbeatOps], T], *, raw_sqlite: bool = True
) -> T:
    """Run `work(ops)` in one write transaction: plain sqlite3 on SQLite (unless `raw_sqlite`
    is False), SQLAlchemy Core otherwise."""
    raw = db.sqlite_writer() if raw_sqlite else None
    if raw is None:
        async with db.writer.begin() as conn:
            return await conn.run_sync(lambda sync_conn: work(CoreOps(sync_conn)))
    # SQLite: the whole batch on this thread in one go (see Database.sqlite_writer).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SQLITE_BUSY_TIMEOUT_MS / 1000
    async with db.write_lock():
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                locked = "locked" in str(exc) or "busy" in str(exc)
                if not locked or loop.time() > deadline:
                    raise StorageError(f"the database stays locked: {exc}") from exc
                await asyncio.sleep(SQLITE_LOCKED_RETRY)
                continue
            try:
                result = work(SqliteOps(raw))
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:  # SQLite may have rolled back already (disk full)
                    raw.execute("ROLLBACK")
                raise
            return result


_NODES: Table = Node.__table__  # type: ignore[assignment]
_INTERVALS: Table = UptimeInterval.__table__  # type: ignore[assignment]
_ENDPOINTS: Table = RelayEndpoint.__table__  # type: ignore[assignment]
_CAPACITIES: Table = NodeCapacityChange.__table__  # type: ignore[assignment]

_UPDATE_NODE = (
    update(_NODES)
    .where(_NODES.c.id == bindparam("nid"))
    .values(
        last_heartbeat_at=bindparam("at"),
        relay_url=func.coalesce(bindparam("relay", type_=String), _NODES.c.relay_url),
        viewers=bindparam("viewers"),
        bytes_served=bindparam("bytes_served"),
        capacity_kbit=bindparam("capacity"),
        version=bindparam("version"),
        streams_reported=bindparam("reported"),
    )
)

_AT = bindparam("at", type_=UTC_DATETIME)
# Never move an end backwards: a replica whose batch began earlier may commit after another's.
_EXTEND_INTERVAL = (
    update(_INTERVALS)
    .where(_INTERVALS.c.id == bindparam("iid"))
    .values(ended_at=case((_INTERVALS.c.ended_at < _AT, _AT), else_=_INTERVALS.c.ended_at))
)


class CoreOps:
    """The batch's statements through SQLAlchemy Core (every database)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def nodes_by_token(self, token_hashes: Iterable[str]) -> dict[str, NodeRow]:
        rows = self.conn.execute(
            select(
                _NODES.c.token_hash,
                _NODES.c.id,
                _NODES.c.status,
                _NODES.c.flagged,
                _NODES.c.relay_url,
                _NODES.c.capacity_kbit,
            ).where(_NODES.c.token_hash.in_(list(token_hashes)))
        )
        return {
            row.token_hash: (row.id, row.status, row.flagged, row.relay_url, row.capacity_kbit)
            for row in rows
        }

    def relay_url_holders(self, urls: set[str], since: datetime) -> dict[str, str]:
        rows = self.conn.execute(
            select(_NODES.c.relay_url, _NODES.c.id).where(
                _NODES.c.relay_url.in_(sorted(urls)),
                _NODES.c.status != "banned",
                (_NODES.c.last_heartbeat_at >= since) | (_NODES.c.created_at >= since),
            )
        )
        return {row.relay_url: row.id for row in rows}

    def insert_endpoints(self, endpoints: list[tuple[str, str]], now: datetime) -> None:
        self.conn.execute(
            insert(_ENDPOINTS),
            [{"node_id": n, "relay_url": u, "started_at": now} for n, u in endpoints],
        )

    def insert_capacities(self, changes: list[tuple[str, int]], now: datetime) -> None:
        self.conn.execute(
            insert(_CAPACITIES),
            [{"node_id": n, "capacity_kbit": c, "started_at": now} for n, c in changes],
        )

    def update_nodes(self, params: list[dict[str, Any]]) -> None:
        self.conn.execute(_UPDATE_NODE, params)

    def open_intervals(
        self, keys: Sequence[IntervalKey], cutoff: datetime
    ) -> dict[IntervalKey, int]:
        rows = self.conn.execute(
            select(_INTERVALS.c.id, _INTERVALS.c.node_id, _INTERVALS.c.stream_id)
            .where(
                _INTERVALS.c.node_id.in_({node_id for node_id, _ in keys}),
                _INTERVALS.c.ended_at >= cutoff,
            )
            .order_by(_INTERVALS.c.ended_at)
        )
        return _latest(keys, ((row.id, row.node_id, row.stream_id) for row in rows))

    def extend_intervals(self, interval_ids: list[int], now: datetime) -> None:
        self.conn.execute(_EXTEND_INTERVAL, [{"iid": iid, "at": now} for iid in interval_ids])

    def insert_intervals(self, keys: Sequence[IntervalKey], now: datetime) -> list[int]:
        rows = self.conn.execute(
            insert(_INTERVALS).returning(_INTERVALS.c.id, sort_by_parameter_order=True),
            [
                {"node_id": node_id, "stream_id": stream_id, "started_at": now, "ended_at": now}
                for node_id, stream_id in keys
            ],
        )
        return list(rows.scalars().all())


_SQLITE = sqlite_dialect.dialect()
# The dialect's own processor (via dialect_impl): '2026-01-01 00:00:10.000000', as the ORM writes.
# (UTCDateTime().bind_processor alone skipped it, and sqlite3 stored '2026-01-01 00:00:10+00:00',
# which sorts before the ORM's text of the same second.)
_SQLITE_TIME: Any = UTC_DATETIME.dialect_impl(_SQLITE).bind_processor(_SQLITE)


class SqliteOps:
    """The same statements as plain sqlite3 calls (the hot path on SQLite).

    Times are stored exactly as SQLAlchemy stores them (its own bind processor makes the text),
    so the ORM reads these rows like any other.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _time(self, value: datetime) -> str:
        return str(_SQLITE_TIME(value))

    def nodes_by_token(self, token_hashes: Iterable[str]) -> dict[str, NodeRow]:
        hashes = tuple(token_hashes)
        rows = self.conn.execute(
            "SELECT token_hash, id, status, flagged, relay_url, capacity_kbit FROM nodes "
            f"WHERE token_hash IN ({','.join('?' * len(hashes))})",
            hashes,
        )
        return {row[0]: (row[1], row[2], bool(row[3]), row[4], row[5]) for row in rows}

    def relay_url_holders(self, urls: set[str], since: datetime) -> dict[str, str]:
        listed = tuple(sorted(urls))
        at = self._time(since)
        rows = self.conn.execute(
            "SELECT relay_url, id FROM nodes "
            f"WHERE relay_url IN ({','.join('?' * len(listed))}) AND status != 'banned' "
            "AND (last_heartbeat_at >= ? OR created_at >= ?)",
            (*listed, at, at),
        )
        return {row[0]: row[1] for row in rows}

    def insert_endpoints(self, endpoints: list[tuple[str, str]], now: datetime) -> None:
        at = self._time(now)
        self.conn.executemany(
            "INSERT INTO relay_endpoints (node_id, relay_url, started_at) VALUES (?, ?, ?)",
            [(node_id, url, at) for node_id, url in endpoints],
        )

    def insert_capacities(self, changes: list[tuple[str, int]], now: datetime) -> None:
        at = self._time(now)
        self.conn.executemany(
            "INSERT INTO node_capacity_changes (node_id, capacity_kbit, started_at) "
            "VALUES (?, ?, ?)",
            [(node_id, capacity, at) for node_id, capacity in changes],
        )

    def update_nodes(self, params: list[dict[str, Any]]) -> None:
        at = self._time(params[0]["at"])
        self.conn.executemany(
            "UPDATE nodes SET last_heartbeat_at = ?, relay_url = coalesce(?, relay_url), "
            "viewers = ?, bytes_served = ?, capacity_kbit = ?, version = ?, "
            "streams_reported = ? WHERE id = ?",
            [
                (
                    at,
                    p["relay"],
                    p["viewers"],
                    p["bytes_served"],
                    p["capacity"],
                    p["version"],
                    p["reported"],
                    p["nid"],
                )
                for p in params
            ],
        )

    def open_intervals(
        self, keys: Sequence[IntervalKey], cutoff: datetime
    ) -> dict[IntervalKey, int]:
        node_ids = tuple({node_id for node_id, _ in keys})
        rows = self.conn.execute(
            "SELECT id, node_id, stream_id FROM uptime_intervals "
            f"WHERE node_id IN ({','.join('?' * len(node_ids))}) AND ended_at >= ? "
            "ORDER BY ended_at",
            (*node_ids, self._time(cutoff)),
        )
        return _latest(keys, rows)

    def extend_intervals(self, interval_ids: list[int], now: datetime) -> None:
        at = self._time(now)
        self.conn.executemany(
            "UPDATE uptime_intervals SET ended_at = max(ended_at, ?) WHERE id = ?",
            [(at, iid) for iid in interval_ids],
        )

    def insert_intervals(self, keys: Sequence[IntervalKey], now: datetime) -> list[int]:
        at = self._time(now)
        ids = []
        for node_id, stream_id in keys:
            cursor = self.conn.execute(
                "INSERT INTO uptime_intervals (node_id, stream_id, started_at, ended_at) "
                "VALUES (?, ?, ?, ?)",
                (node_id, stream_id, at, at),
            )
            assert cursor.lastrowid is not None
            ids.append(cursor.lastrowid)
        return ids


def _latest(
    keys: Sequence[IntervalKey], rows: Iterable[tuple[int, str, int | None]]
) -> dict[IntervalKey, int]:
    wanted = set(keys)
    found: dict[IntervalKey, int] = {}
    for interval_id, node_id, stream_id in rows:
        key = (node_id, stream_id)
        if key in wanted:
            found[key] = interval_id  # ordered by end: the latest open interval wins
    return found
