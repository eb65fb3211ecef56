"""Heartbeats recorded as uptime intervals, written in batches by one task (group commit).

Every beat extends the node's open interval (stream_id NULL: the node is up) and, for each stream
it reports relaying live, that stream's open interval, when the previous beat is within the grace
window; after a gap a new interval starts. Time is the coordinator's clock.

Concurrent beats queue up while a batch is being written; the next batch takes them all, so the
database sees a few statements per batch instead of per beat. Each request still waits for its
batch to commit before it is answered.
"""

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, Table, bindparam, case, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from coordinator_service.errors import AuthError, StorageError
from coordinator_service.services.app_settings import DOWNLOAD_URL, LATEST_VERSION, get_settings
from coordinator_service.services.clock import utcnow
from coordinator_service.services.nodes import BANNED
from coordinator_service.storage.db import DISK_FULL_MESSAGE, Database, is_disk_full, one_line
from coordinator_service.storage.models import UTC_DATETIME, Node, Stream, UptimeInterval

__all__ = [
    "Beat",
    "BeatResult",
    "Catalog",
    "CatalogCache",
    "HeartbeatRecorder",
]

logger = logging.getLogger(__name__)

MAX_BATCH = 500
IntervalKey = tuple[str, int | None]


@dataclass(frozen=True)
class Beat:
    """One heartbeat as the recorder needs it (the token is already hashed)."""

    token_hash: str
    relay_url: str | None = None
    viewers: int = 0
    bytes_served: int = 0
    capacity_kbit: int = 10_000
    version: str = "0"
    streams_reported: str = ""
    live_streams: tuple[str, ...] = ()


@dataclass(frozen=True)
class BeatResult:
    """Who beat and the state to tell it: healthy, flagged or banned."""

    node_id: str
    state: str
    at: datetime


@dataclass(frozen=True)
class Catalog:
    """What every heartbeat answer shares: streams to relay and the announced update."""

    assignments: tuple[tuple[str, str], ...]  # (name, origin_url) of unpaused streams
    stream_ids: dict[str, int]
    latest_version: str | None
    download_url: str | None


class CatalogCache:
    """The catalog, read from the database at most every `ttl` seconds."""

    def __init__(self, db: Database, ttl: float = 2.0) -> None:
        self._db = db
        self._ttl = ttl
        self._value: Catalog | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Forget the catalog so the next beat reads it again (after an admin change)."""
        self._value = None

    async def get(self) -> Catalog:
        """Return a catalog no older than the TTL."""
        loop = asyncio.get_running_loop()
        if self._value is not None and loop.time() - self._loaded_at < self._ttl:
            return self._value
        async with self._lock:
            if self._value is not None and loop.time() - self._loaded_at < self._ttl:
                return self._value
            async with self._db.session() as session:
                value = await load_catalog(session)
            self._value, self._loaded_at = value, loop.time()
            return value


async def load_catalog(session: AsyncSession) -> Catalog:
    """Read the streams and update announcement from the database."""
    rows = (
        await session.execute(
            select(Stream.id, Stream.name, Stream.origin_url, Stream.paused).order_by(Stream.name)
        )
    ).all()
    settings = await get_settings(session, LATEST_VERSION, DOWNLOAD_URL)
    return Catalog(
        assignments=tuple((row.name, row.origin_url) for row in rows if not row.paused),
        stream_ids={row.name: row.id for row in rows},
        latest_version=settings.get(LATEST_VERSION),
        download_url=settings.get(DOWNLOAD_URL),
    )


@dataclass
class _Pending:
    beat: Beat
    future: "asyncio.Future[BeatResult]"


@dataclass
class _OpenInterval:
    interval_id: int
    ended_at: datetime


@dataclass
class _Batch:
    now: datetime
    items: list[_Pending]
    results: dict[int, BeatResult | Exception] = field(default_factory=dict)


class HeartbeatRecorder:
    """Records beats through one writer task; `record()` returns once the beat is committed."""

    def __init__(self, db: Database, catalog: CatalogCache, grace: timedelta) -> None:
        self._db = db
        self._catalog = catalog
        self._grace = grace
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._open: dict[IntervalKey, _OpenInterval] = {}
        self._pruned_size = 1024

    async def start(self) -> None:
        """Start the writer task."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="heartbeat-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop the writer task."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        if self._queue:
            await self._write_all()

    async def record(self, beat: Beat) -> BeatResult:
        """Queue a beat and wait until its batch is committed; raise AuthError for a bad token."""
        if self._task is None:
            raise StorageError("the heartbeat writer is not running")
        future: asyncio.Future[BeatResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(beat, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._write_all()

    async def _write_all(self) -> None:
        while self._queue:
            items, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            await self._write_items(items)

    async def _write_items(self, items: list[_Pending]) -> None:
        batch = _Batch(utcnow(), items)
        try:
            opened = await self._write(batch)
        except (SQLAlchemyError, OSError, StorageError) as exc:
            self._open.clear()
            if len(items) > 1:  # one bad beat must not cost the others theirs: retry one by one
                logger.warning(
                    "heartbeat batch of %d failed, retrying singly: %s", len(items), one_line(exc)
                )
                for item in items:
                    await self._write_items([item])
                return
            logger.warning("heartbeat failed: %s", one_line(exc))
            error = (
                StorageError(DISK_FULL_MESSAGE, code="storage_full")
                if is_disk_full(exc)
                else StorageError("the database is busy; try again shortly")
            )
            if not items[0].future.done():
                items[0].future.set_exception(error)
            return
        else:
            self._open.update(opened)
        self._prune(batch.now)
        for index, item in enumerate(items):
            if item.future.done():
                continue
            result = batch.results[index]
            if isinstance(result, Exception):
                item.future.set_exception(result)
            else:
                item.future.set_result(result)

    def _prune(self, now: datetime) -> None:
        if len(self._open) <= 2 * self._pruned_size:
            return
        cutoff = now - self._grace
        self._open = {k: v for k, v in self._open.items() if v.ended_at >= cutoff}
        self._pruned_size = max(1024, len(self._open))

    async def _write(self, batch: _Batch) -> dict[IntervalKey, _OpenInterval]:
        catalog = await self._catalog.get()
        now = batch.now
        async with self._db.transaction() as session:
            nodes = await _nodes_by_token(session, {p.beat.token_hash for p in batch.items})
            node_params: list[dict[str, Any]] = []
            keys: dict[IntervalKey, None] = {}
            for index, pending in enumerate(batch.items):
                beat = pending.beat
                row = nodes.get(beat.token_hash)
                if row is None:
                    batch.results[index] = AuthError(
                        "the node token is not valid (was this node removed?)",
                        code="bad_node_token",
                    )
                    continue
                node_id, status, flagged = row
                if status == BANNED:
                    batch.results[index] = BeatResult(node_id, "banned", now)
                    continue
                batch.results[index] = BeatResult(node_id, "flagged" if flagged else "healthy", now)
                node_params.append(_node_values(node_id, beat, now))
                keys[(node_id, None)] = None
                for name in beat.live_streams:
                    stream_id = catalog.stream_ids.get(name)
                    if stream_id is not None:
                        keys[(node_id, stream_id)] = None
            if not node_params:
                return {}
            conn = await session.connection()
            # Same lock order on every replica (no deadlocks); the row locks also serialize
            # concurrent beats of one node, so the interval query below sees the other's commit.
            node_params.sort(key=lambda values: values["nid"])
            await conn.execute(_UPDATE_NODE, node_params)
            opened = await self._extend_or_open(conn, list(keys), now)
            await session.commit()
        return opened

    async def _extend_or_open(
        self, conn: AsyncConnection, keys: Sequence[IntervalKey], now: datetime
    ) -> dict[IntervalKey, _OpenInterval]:
        cutoff = now - self._grace
        extend: dict[IntervalKey, int] = {}
        unknown: list[IntervalKey] = []
        for key in keys:
            known = self._open.get(key)
            if known is not None and known.ended_at >= cutoff:
                extend[key] = known.interval_id
            else:  # not cached, or stale: another replica may have opened one since
                unknown.append(key)
        if unknown:
            extend.update(await _open_intervals(conn, unknown, cutoff))
        if extend:
            await conn.execute(
                _EXTEND_INTERVAL, [{"iid": iid, "at": now} for iid in sorted(extend.values())]
            )
        opened = {key: _OpenInterval(iid, now) for key, iid in extend.items()}
        new = [key for key in keys if key not in extend]
        if new:
            rows = await conn.execute(
                insert(_INTERVALS).returning(_INTERVALS.c.id, sort_by_parameter_order=True),
                [
                    {"node_id": node_id, "stream_id": stream_id, "started_at": now, "ended_at": now}
                    for node_id, stream_id in new
                ],
            )
            for key, interval_id in zip(new, rows.scalars().all(), strict=True):
                opened[key] = _OpenInterval(interval_id, now)
        return opened


_NODES: Table = Node.__table__  # type: ignore[assignment]
_INTERVALS: Table = UptimeInterval.__table__  # type: ignore[assignment]

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


def _node_values(node_id: str, beat: Beat, now: datetime) -> dict[str, Any]:
    return {
        "nid": node_id,
        "at": now,
        "relay": beat.relay_url,
        "viewers": beat.viewers,
        "bytes_served": beat.bytes_served,
        "capacity": beat.capacity_kbit,
        "version": beat.version,
        "reported": beat.streams_reported,
    }


async def _nodes_by_token(
    session: AsyncSession, token_hashes: Iterable[str]
) -> dict[str, tuple[str, str, bool]]:
    rows = await session.execute(
        select(Node.token_hash, Node.id, Node.status, Node.flagged).where(
            Node.token_hash.in_(list(token_hashes))
        )
    )
    return {row.token_hash: (row.id, row.status, row.flagged) for row in rows}


async def _open_intervals(
    conn: AsyncConnection, keys: Sequence[IntervalKey], cutoff: datetime
) -> dict[IntervalKey, int]:
    wanted = set(keys)
    rows = await conn.execute(
        select(UptimeInterval.id, UptimeInterval.node_id, UptimeInterval.stream_id)
        .where(
            UptimeInterval.node_id.in_({node_id for node_id, _ in keys}),
            UptimeInterval.ended_at >= cutoff,
        )
        .order_by(UptimeInterval.ended_at)
    )
    found: dict[IntervalKey, int] = {}
    for row in rows:
        key = (row.node_id, row.stream_id)
        if key in wanted:
            found[key] = row.id  # ordered by end: the latest open interval wins
    return found
