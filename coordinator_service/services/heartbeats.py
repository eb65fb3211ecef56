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
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.errors import AuthError, ConflictError, StorageError
from coordinator_service.services.app_settings import DOWNLOAD_URL, LATEST_VERSION, get_settings
from coordinator_service.services.clock import utcnow
from coordinator_service.services.lineage import URL_HOLD
from coordinator_service.services.nodes import BANNED
from coordinator_service.storage.db import DISK_FULL_MESSAGE, Database, is_disk_full, one_line
from coordinator_service.storage.heartbeat_sql import HeartbeatOps, IntervalKey, write_heartbeats
from coordinator_service.storage.models import Stream

__all__ = [
    "Beat",
    "BeatResult",
    "Catalog",
    "CatalogCache",
    "HeartbeatRecorder",
]

logger = logging.getLogger(__name__)

MAX_BATCH = 500


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

    def __init__(
        self,
        db: Database,
        catalog: CatalogCache,
        grace: timedelta,
        *,
        clock: Callable[[], datetime] = utcnow,
        raw_sqlite: bool = True,
    ) -> None:
        """`raw_sqlite=False` writes through SQLAlchemy on SQLite too (tests compare the two)."""
        self._db = db
        self._clock = clock
        self._raw_sqlite = raw_sqlite
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
        batch = _Batch(self._clock(), items)
        try:
            opened = await self._write(batch)
        except Exception as exc:  # the writer must survive anything, or every beat would hang
            self._open.clear()
            if len(items) > 1:  # one bad beat must not cost the others theirs: retry one by one
                logger.warning(
                    "heartbeat batch of %d failed, retrying singly: %s", len(items), one_line(exc)
                )
                for item in items:
                    await self._write_items([item])
                return
            if isinstance(exc, SQLAlchemyError | sqlite3.Error | OSError | StorageError):
                logger.warning("heartbeat failed: %s", one_line(exc))
            else:
                logger.exception("heartbeat failed")
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
        return await write_heartbeats(
            self._db,
            lambda ops: self._write_sync(ops, batch, catalog),
            raw_sqlite=self._raw_sqlite,
        )

    def _write_sync(
        self, ops: HeartbeatOps, batch: _Batch, catalog: Catalog
    ) -> dict[IntervalKey, _OpenInterval]:
        now = batch.now
        nodes = ops.nodes_by_token({p.beat.token_hash for p in batch.items})
        moving = {
            p.beat.relay_url
            for p in batch.items
            if p.beat.relay_url is not None
            and p.beat.token_hash in nodes
            and nodes[p.beat.token_hash][3] != p.beat.relay_url
        }
        capacity = {row[0]: row[4] for row in nodes.values()}  # as stored, then as beaten
        capacities: list[tuple[str, int]] = []
        holders = ops.relay_url_holders(moving, now - URL_HOLD) if moving else {}
        endpoints: list[tuple[str, str]] = []
        node_params: list[dict[str, Any]] = []
        keys: dict[IntervalKey, None] = {}
        for index, pending in enumerate(batch.items):
            beat = pending.beat
            row = nodes.get(beat.token_hash)
            if row is None:
                batch.results[index] = AuthError(
                    "the node token is not valid (was this node removed?)", code="bad_node_token"
                )
                continue
            node_id, status, flagged, held_url, _ = row
            if status == BANNED:
                batch.results[index] = BeatResult(node_id, "banned", now)
                continue
            if beat.relay_url is not None and beat.relay_url != held_url:
                if holders.get(beat.relay_url, node_id) != node_id:
                    batch.results[index] = ConflictError(
                        f"the relay URL {beat.relay_url} is held by another active node",
                        code="relay_url_taken",
                    )  # the first holder keeps it (services/lineage.py)
                    continue
                endpoints.append((node_id, beat.relay_url))
            batch.results[index] = BeatResult(node_id, "flagged" if flagged else "healthy", now)
            node_params.append(_node_values(node_id, beat, now))
            if beat.capacity_kbit != capacity[node_id]:  # the viewer slot rule's history
                capacity[node_id] = beat.capacity_kbit
                capacities.append((node_id, beat.capacity_kbit))
            keys[(node_id, None)] = None
            for name in beat.live_streams:
                stream_id = catalog.stream_ids.get(name)
                if stream_id is not None:
                    keys[(node_id, stream_id)] = None
        if not node_params:
            return {}
        # Same lock order on every replica (no deadlocks); the row locks also serialize
        # concurrent beats of one node, so the interval query below sees the other's commit.
        node_params.sort(key=lambda values: values["nid"])
        ops.update_nodes(node_params)
        if endpoints:  # a new relay URL: unprobed (no viewers, no credit) until a probe passes
            ops.insert_endpoints(endpoints, now)
        if capacities:
            ops.insert_capacities(capacities, now)
        return self._extend_or_open(ops, list(keys), now)

    def _extend_or_open(
        self, ops: HeartbeatOps, keys: Sequence[IntervalKey], now: datetime
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
            extend.update(ops.open_intervals(unknown, cutoff))
        if extend:
            ops.extend_intervals(sorted(extend.values()), now)
        opened = {key: _OpenInterval(iid, now) for key, iid in extend.items()}
        new = [key for key in keys if key not in extend]
        if new:
            for key, interval_id in zip(new, ops.insert_intervals(new, now), strict=True):
                opened[key] = _OpenInterval(interval_id, now)
        return opened


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
