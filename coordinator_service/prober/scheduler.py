"""The prober's background loops: watch origins, probe due nodes, keep reputations.

Each node relaying a live stream is probed at random, unpredictable times: after every probe
its `next_probe_at` is drawn from an exponential distribution with mean `probe_interval_s`
(cut to [0.1, 3] × the mean so a node is never forgotten for long). Due nodes are claimed
through `ProbeLease` rows, so several coordinator replicas never probe the same node at once:
on PostgreSQL the candidates are locked with `SELECT … FOR UPDATE SKIP LOCKED`; on both
databases the lease is taken with one atomic upsert that only wins over an expired lease.
Probes of a cycle run concurrently (bounded); every result is stored as a `Probe` row, the node's
reputation is updated, and a `FlagInterval` opens when it is flagged and closes when it recovers.
Only nodes heard from within `beating_window_s` are probed, and a failure of a node that stopped
heartbeating while it was probed is stored but not counted (a node shutting down is no cheat).
`probe` (the network fetch, `probe.probe_node`), `clock` and `rnd` can be replaced: the simulated
day (`tests/trust/test_simulated_day.py`) drives this code for 24 h with seeded outcomes.
"""

import asyncio
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import as_utc
from coordinator_service.prober.addresses import coordinator_addresses
from coordinator_service.prober.bitrate import moved, record_slot_kbit, slot_kbit
from coordinator_service.prober.origin import OriginWatcher, StreamIndex, record_origin
from coordinator_service.prober.probe import ProbeConfig, ProbeOutcome, ProbeTarget, probe_node
from coordinator_service.prober.reputation import Reputation
from coordinator_service.relay_tls.trust import relay_trust
from coordinator_service.services.clock import utcnow
from coordinator_service.services.nodes import ACTIVE
from coordinator_service.services.pause import is_paused
from coordinator_service.storage.models import (
    FlagInterval,
    Node,
    Probe,
    ProbeLease,
    Stream,
    UptimeInterval,
)
from streamr_protocol.tasks import cancel_and_wait

__all__ = ["SHARD_CONNECTIONS", "ProbeFetch", "Prober", "ProberSettings"]

logger = logging.getLogger(__name__)

SHARD_CONNECTIONS = 16

ProbeFetch = Callable[
    [
        httpx.AsyncClient,
        ProbeTarget,
        StreamIndex,
        Callable[[], Awaitable[StreamIndex]],
        ProbeConfig,
        random.Random,
    ],
    Awaitable[ProbeOutcome],
]


@dataclass(frozen=True, slots=True)
class ProberSettings:
    """Knobs of the prober (the coordinator's settings fill them)."""

    probe_interval_s: float = 180.0
    allow_private_relays: bool = False
    relaying_window_s: float = 90.0
    beating_window_s: float = 45.0
    origin_poll_s: float = 1.0
    concurrency: int = 64
    batch: int = 2000
    probe_timeout_s: float = 10.0
    stale_after_s: float | None = None
    holder: str = ""
    relay_ca_file: Path | None = None  # an extra CA for HTTPS relays (private or test CA)
    relay_domain: str | None = None  # the host's relay domain (see relay_tls/names.py)
    public_url: str = ""  # with listen_host: the coordinator's own addresses are never probed
    listen_host: str = ""


@dataclass(frozen=True, slots=True)
class _Claimed:
    node_id: str
    relay_url: str
    probe_key: str
    reputation: Reputation
    stream_id: int
    stream: str


class Prober:
    """Owns the origin watcher and the probe loop of one coordinator replica."""

    def __init__(
        self,
        sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        settings: ProberSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        read_sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]] | None = None,
        probe: ProbeFetch = probe_node,
        rnd: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.read_sessions = read_sessions or sessions
        self.settings = settings
        self.clock = clock
        self.probe = probe
        self.holder = settings.holder or "prober-" + secrets.token_hex(4)
        self.client = self._new_client(SHARD_CONNECTIONS)
        # httpcore's pool scans all its connections for each queued request, so one big pool
        # costs O(connections × requests): probes are spread over small pools instead
        self.shards = [
            (self._new_client(SHARD_CONNECTIONS), asyncio.Semaphore(SHARD_CONNECTIONS))
            for _ in range(max(1, -(-settings.concurrency // SHARD_CONNECTIONS)))
        ]
        self.watcher = OriginWatcher(self.client)
        self.origins: dict[str, tuple[int, str]] = {}
        self.hooks: dict[str, tuple[bool, datetime]] = {}
        self._poll_locks: dict[str, asyncio.Lock] = {}
        self._polled_at: dict[str, float] = {}
        self._slot_kbit: dict[int, int] = {}  # per stream: the slot bitrate last recorded
        self._rnd = rnd or random.SystemRandom()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the origin and probe loops as background tasks."""
        self._tasks = [
            asyncio.create_task(self._loop(self.poll_origins, self.settings.origin_poll_s)),
            asyncio.create_task(self._loop(self.probe_due, self._tick())),
        ]

    async def stop(self) -> None:
        """Stop the loops and close the HTTP client."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []
        await self.client.aclose()
        for client, _ in self.shards:
            await client.aclose()

    def _new_client(self, connections: int) -> httpx.AsyncClient:
        timeout = self.settings.probe_timeout_s
        return httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(3.0, timeout)),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            follow_redirects=False,
            trust_env=False,
            verify=relay_trust(self.settings.relay_ca_file),
        )

    def _tick(self) -> float:
        return min(1.0, max(0.05, self.settings.probe_interval_s / 10))

    async def _loop(self, step: Callable[[], object], every: float) -> None:
        while True:
            try:
                result = step()
                if asyncio.iscoroutine(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:  # keep probing whatever one cycle hit; the log has the detail
                logger.exception("prober step failed")
            await asyncio.sleep(every)

    # --- origins -----------------------------------------------------------------------------

    async def poll_origins(self) -> dict[str, StreamIndex]:
        """Poll every unpaused stream's origin and record whether it is live (hooks first)."""
        async with self.read_sessions() as session:
            rows = (
                await session.execute(
                    select(
                        Stream.id,
                        Stream.name,
                        Stream.origin_url,
                        Stream.live,
                        Stream.hook_live,
                        Stream.hook_at,
                    ).where(Stream.paused.is_(False))
                )
            ).all()
        self.origins = {row.name: (row.id, row.origin_url) for row in rows}
        self.hooks = {
            row.name: (bool(row.hook_live), as_utc(row.hook_at))
            for row in rows
            if row.hook_at is not None
        }
        was_live = {row.name: row.live for row in rows}
        indexes = await asyncio.gather(*(self._poll(name) for name in self.origins))
        now = self.clock()
        changes = []
        bitrates: dict[int, int] = {}
        for index in indexes:
            live = index.is_live(now.timestamp())
            stream_id = self.origins[index.name][0]
            if live or was_live[index.name]:  # nothing to write while a stream stays offline
                hook = self.hooks.get(index.name)
                seen = hook[1] if hook else None
                changes.append((stream_id, live, index.live_span(), seen))
            kbit = slot_kbit(index) if live else None
            if kbit is not None and moved(self._slot_kbit.get(stream_id), kbit):
                bitrates[stream_id] = kbit
        if changes or bitrates:
            async with self.sessions() as session:
                for stream_id, live, span, seen in changes:
                    await record_origin(session, stream_id, live, now, span, seen)
                for stream_id, kbit in bitrates.items():  # another replica may have recorded it
                    bitrates[stream_id] = await record_slot_kbit(session, stream_id, kbit, now)
                await session.commit()
            self._slot_kbit.update(bitrates)
        return {index.name: index for index in indexes}

    async def _poll(self, name: str, started_after: float | None = None) -> StreamIndex:
        """Poll an origin, sharing polls: reuse one started after `started_after` (or lately)."""
        loop = asyncio.get_running_loop()
        if started_after is None:
            started_after = loop.time() - 0.25
        lock = self._poll_locks.setdefault(name, asyncio.Lock())
        async with lock:
            index = self.watcher.indexes.get(name)
            if index is not None and self._polled_at.get(name, -1e9) >= started_after:
                return index
            self._polled_at[name] = loop.time()
            hook = self.hooks.get(name)
            noted = (hook[0], hook[1].timestamp()) if hook else None
            return await self.watcher.poll(name, self.origins[name][1], noted)

    def _refresher(self, name: str) -> Callable[[], Awaitable[StreamIndex]]:
        """Return a callback that gets an index polled after the moment it is called."""

        def refresh() -> Awaitable[StreamIndex]:
            return self._poll(name, asyncio.get_running_loop().time())

        return refresh

    # --- probes ------------------------------------------------------------------------------

    def _next_delay(self) -> timedelta:
        mean = self.settings.probe_interval_s
        delay = min(max(self._rnd.expovariate(1 / mean), 0.1 * mean), 3 * mean)
        return timedelta(seconds=delay)

    async def probe_due(self) -> int:
        """Claim the nodes due for a probe, probe them concurrently, store the results."""
        now = self.clock()
        live = {
            name: index
            for name, index in self.watcher.indexes.items()
            if name in self.origins and index.is_live(now.timestamp())
        }
        if not live:
            return 0
        claimed = await self._claim(now, {self.origins[name][0]: name for name in live})
        if not claimed:
            return 0
        config = ProbeConfig(
            allow_private=self.settings.allow_private_relays,
            timeout_s=self.settings.probe_timeout_s,
            stale_after_s=self.settings.stale_after_s,
            relay_domain=self.settings.relay_domain,
            denied=await coordinator_addresses(self.settings.public_url, self.settings.listen_host),
        )

        async def one(position: int, item: _Claimed) -> ProbeOutcome:
            client, limit = self.shards[position % len(self.shards)]
            async with limit:
                target = ProbeTarget(item.node_id, item.relay_url, item.probe_key, item.stream)
                return await self.probe(
                    client,
                    target,
                    live[item.stream],
                    self._refresher(item.stream),
                    config,
                    self._rnd,
                )

        outcomes = await asyncio.gather(*(one(i, item) for i, item in enumerate(claimed)))
        await self._record(claimed, outcomes)
        return len(claimed)

    async def _anything_due(self, now: datetime, since: datetime, streams: list[int]) -> bool:
        async with self.read_sessions() as session:
            due = await session.scalar(
                select(Node.id)
                .where(
                    Node.status == ACTIVE,
                    (Node.next_probe_at.is_(None)) | (Node.next_probe_at <= now),
                    exists().where(
                        UptimeInterval.node_id == Node.id,
                        UptimeInterval.stream_id.in_(streams),
                        UptimeInterval.ended_at >= since,
                    ),
                )
                .limit(1)
            )
        return due is not None

    async def _claim(self, now: datetime, live: dict[int, str]) -> list[_Claimed]:
        since = now - timedelta(seconds=self.settings.relaying_window_s)
        lease_until = now + timedelta(seconds=self.settings.probe_timeout_s * 3 + 30)
        holder = f"{self.holder}:{secrets.token_hex(4)}"
        if not await self._anything_due(now, since, list(live)):
            return []  # spare SQLite's single writer when nothing is due
        async with self.sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            relaying = exists().where(
                UptimeInterval.node_id == Node.id,
                UptimeInterval.stream_id.in_(list(live)),
                UptimeInterval.ended_at >= since,
            )
            leased = exists().where(ProbeLease.node_id == Node.id, ProbeLease.expires_at > now)
            query = (
                select(Node.id)
                .where(
                    Node.status == ACTIVE,
                    (Node.next_probe_at.is_(None)) | (Node.next_probe_at <= now),
                    Node.last_heartbeat_at
                    >= now - timedelta(seconds=self.settings.beating_window_s),
                    relaying,
                    ~leased,
                )
                .order_by(Node.next_probe_at.nulls_first(), Node.id)
                .limit(self.settings.batch)
            )
            if dialect == "postgresql":
                query = query.with_for_update(of=Node, skip_locked=True)
            candidates = list((await session.scalars(query)).all())
            if not candidates:
                return []
            upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ProbeLease)
            await session.execute(
                upsert.on_conflict_do_update(
                    index_elements=[ProbeLease.node_id],
                    set_={
                        "holder": upsert.excluded.holder,
                        "expires_at": upsert.excluded.expires_at,
                    },
                    where=ProbeLease.expires_at <= now,
                ),
                [{"node_id": n, "holder": holder, "expires_at": lease_until} for n in candidates],
            )
            won = set(
                (
                    await session.scalars(
                        select(ProbeLease.node_id).where(ProbeLease.holder == holder)
                    )
                ).all()
            )
            if not won:
                return []
            await session.execute(
                update(Node),
                [{"id": n, "next_probe_at": now + self._next_delay()} for n in sorted(won)],
            )
            nodes = (
                await session.execute(
                    select(
                        Node.id,
                        Node.relay_url,
                        Node.probe_key,
                        Node.reputation_alpha,
                        Node.reputation_beta,
                        Node.flagged,
                    ).where(Node.id.in_(won))
                )
            ).all()
            streams: dict[str, list[int]] = {}
            for node_id, stream_id in (
                await session.execute(
                    select(UptimeInterval.node_id, UptimeInterval.stream_id)
                    .where(
                        UptimeInterval.node_id.in_(won),
                        UptimeInterval.stream_id.in_(list(live)),
                        UptimeInterval.ended_at >= since,
                    )
                    .distinct()
                )
            ).all():
                if stream_id is not None:
                    streams.setdefault(node_id, []).append(stream_id)
        claimed = []
        for node_id, relay_url, key, alpha, beta, flagged in nodes:
            choices = sorted(streams.get(node_id, []))
            if not choices:
                continue
            stream_id = self._rnd.choice(choices)
            claimed.append(
                _Claimed(
                    node_id,
                    relay_url,
                    key,
                    Reputation(alpha, beta, flagged),
                    stream_id,
                    live[stream_id],
                )
            )
        return claimed

    async def _record(self, claimed: Sequence[_Claimed], outcomes: Sequence[ProbeOutcome]) -> None:
        now = self.clock()
        probes = []
        changes = []
        async with self.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(
                        Node.id,
                        Node.last_heartbeat_at,
                        Node.streams_reported,
                        Node.reputation_alpha,
                        Node.reputation_beta,
                        Node.flagged,
                    ).where(Node.id.in_([c.node_id for c in claimed]))
                )
            ).all()
            beats = {row[0]: row[1] for row in rows}
            paused = {row[0] for row in rows if is_paused(row[2])}
            # read now, not at claim time: peer audits may have moved it meanwhile
            current = {row[0]: Reputation(row[3], row[4], row[5]) for row in rows}
            quiet_since = now - timedelta(seconds=self.settings.beating_window_s)
            for item, outcome in zip(claimed, outcomes, strict=True):
                before = current.get(item.node_id, item.reputation)
                last_beat = beats.get(item.node_id)
                if not outcome.ok and (last_beat is None or as_utc(last_beat) < quiet_since):
                    # it stopped beating while probed: shutting down, not cheating
                    outcome = replace(
                        outcome,
                        detail=f"{outcome.detail} (not counted: heartbeats stopped)"[-500:],
                    )
                    after = before
                elif not outcome.ok and item.node_id in paused:
                    outcome = replace(
                        outcome, detail=f"{outcome.detail} (not counted: the friend paused)"[-500:]
                    )
                    after = before
                else:
                    after = before.after(outcome.reason)
                probes.append(
                    {
                        "node_id": item.node_id,
                        "stream_id": item.stream_id,
                        "at": now,
                        "ok": outcome.ok,
                        "reason": outcome.reason,
                        "detail": outcome.detail,
                        "latency_ms": outcome.latency_ms,
                        "reputation_after": round(after.score, 4),
                        "relay_url": item.relay_url[:2048],
                        "address": outcome.address[:64],
                    }
                )
                changes.append(
                    {
                        "id": item.node_id,
                        "reputation_alpha": after.alpha,
                        "reputation_beta": after.beta,
                        "flagged": after.flagged,
                    }
                )
                if after.flagged and not before.flagged:
                    logger.warning("node %s flagged: %s", item.node_id, outcome.reason)
                    session.add(
                        FlagInterval(
                            node_id=item.node_id,
                            started_at=now,
                            ended_at=None,
                            reason=f"score {after.score:.2f} after {outcome.reason}",
                        )
                    )
                elif before.flagged and not after.flagged:
                    logger.info("node %s recovered", item.node_id)
                    await session.execute(
                        update(FlagInterval)
                        .where(
                            FlagInterval.node_id == item.node_id, FlagInterval.ended_at.is_(None)
                        )
                        .values(ended_at=now)
                    )
            await session.execute(insert(Probe), probes)
            await session.execute(update(Node), changes)
            await session.execute(
                delete(ProbeLease).where(ProbeLease.node_id.in_([c.node_id for c in claimed]))
            )
