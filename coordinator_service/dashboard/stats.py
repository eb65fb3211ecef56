"""The overview page's figures and its last-24-hours series, counting only hours not yet sealed."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import to_seconds
from coordinator_service.ledger.tally import epoch_seconds as epoch  # one per dialect
from coordinator_service.storage.models import Node, Probe, Stream, UptimeInterval

__all__ = ["HOURS", "SEALED_AFTER_S", "Overview", "overview"]

HOURS = 24


@dataclass
class Overview:
    """The figures and the 24 h series on the overview page."""

    streams_live: int
    streams_total: int
    nodes_total: int
    nodes_relaying: int
    nodes_by_state: dict[str, int]
    viewers: int
    bytes_served: int
    probes_ok_24h: int
    probes_total_24h: int
    hour_starts: list[datetime] = field(default_factory=list)
    nodes_up: list[int] = field(default_factory=list)
    probes_ok: list[int] = field(default_factory=list)
    probes_failed: list[int] = field(default_factory=list)


SEALED_AFTER_S = 300


async def _hourly(
    db: AsyncSession,
    edges: list[datetime],
    now: datetime,
    cache: dict[int, tuple[int, int, int]] | None,
) -> tuple[list[int], list[int], list[int]]:
    """Return probes passed, probes failed and nodes up per hour between the edges."""
    cache = {} if cache is None else cache
    hours = [to_seconds(edge) for edge in edges[:-1]]
    sealed_until = to_seconds(now) - SEALED_AFTER_S
    for stale in [hour for hour in cache if hour < hours[0]]:
        del cache[stale]
    missing = [hour for hour in hours if hour not in cache or hour + 3600 > sealed_until]
    fresh: dict[int, tuple[int, int, int]] = {}
    if missing:
        base = missing[0]
        since = edges[hours.index(base)]
        counts = {hour: [0, 0] for hour in hours if hour >= base}
        bucket = (epoch(db, Probe.at) - base) // 3600
        for index, ok, count in await db.execute(
            select(bucket, Probe.ok, func.count())
            .where(Probe.at >= since)
            .group_by(bucket, Probe.ok)
        ):
            hour = base + int(index) * 3600
            if hour in counts:
                counts[hour][0 if ok else 1] += int(count)
        up: dict[int, set[str]] = {hour: set() for hour in counts}
        for node_id, start, end in await db.execute(
            select(
                UptimeInterval.node_id,
                epoch(db, UptimeInterval.started_at),
                epoch(db, UptimeInterval.ended_at),
            ).where(UptimeInterval.stream_id.is_(None), UptimeInterval.ended_at >= since)
        ):
            first = base + max(0, (int(start) - base) // 3600) * 3600
            for hour in range(first, int(end) + 1, 3600):
                if hour in up:
                    up[hour].add(node_id)
        for hour, (ok_count, failed_count) in counts.items():
            fresh[hour] = (ok_count, failed_count, len(up[hour]))
            if hour + 3600 <= sealed_until:
                cache[hour] = fresh[hour]
    rows = [fresh.get(hour) or cache[hour] for hour in hours]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _hour_edges(now: datetime) -> list[datetime]:
    top = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return [top - timedelta(hours=HOURS - i) for i in range(HOURS + 1)]


async def overview(
    db: AsyncSession,
    now: datetime,
    silent_after_s: float,
    hour_cache: dict[int, tuple[int, int, int]] | None = None,
) -> Overview:
    """Compute the overview page's figures and its last-24-hours series.

    `hour_cache` (kept by the caller between requests) holds the series of hours that ended
    more than SEALED_AFTER_S ago; they no longer change, so only the newest hours are counted.
    """
    alive_since = now - timedelta(seconds=silent_after_s)
    streams = (
        await db.execute(
            select(func.count(), func.coalesce(func.sum(case((Stream.live, 1), else_=0)), 0))
        )
    ).one()
    recent = and_(Node.last_heartbeat_at.is_not(None), Node.last_heartbeat_at >= alive_since)
    usable = and_(Node.status != "banned", Node.flagged.is_(False))
    nodes = (
        await db.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((Node.status == "banned", 1), else_=0)), 0),
                func.coalesce(
                    func.sum(case((and_(Node.status != "banned", Node.flagged), 1), else_=0)), 0
                ),
                func.coalesce(func.sum(case((and_(usable, recent), 1), else_=0)), 0),
                func.coalesce(
                    func.sum(case((and_(usable, Node.last_heartbeat_at.is_(None)), 1), else_=0)), 0
                ),
                func.coalesce(func.sum(case((and_(usable, recent), Node.viewers), else_=0)), 0),
                func.coalesce(func.sum(Node.bytes_served), 0),
            )
        )
    ).one()
    total, banned, flagged, healthy, new, viewers, served = (int(v) for v in nodes)
    relaying = await db.scalar(
        select(func.count(func.distinct(UptimeInterval.node_id)))
        .join(Node, Node.id == UptimeInterval.node_id)
        .where(
            UptimeInterval.stream_id.is_not(None), UptimeInterval.ended_at >= alive_since, usable
        )
    )
    edges = _hour_edges(now)
    ok_series, failed_series, up_series = await _hourly(db, edges, now, hour_cache)
    return Overview(
        streams_live=int(streams[1]),
        streams_total=int(streams[0]),
        nodes_total=total,
        nodes_relaying=int(relaying or 0),
        nodes_by_state={
            "healthy": healthy,
            "flagged": flagged,
            "banned": banned,
            "new": new,
            "silent": total - healthy - flagged - banned - new,
        },
        viewers=viewers,
        bytes_served=served,
        probes_ok_24h=sum(ok_series),
        probes_total_24h=sum(ok_series) + sum(failed_series),
        hour_starts=edges[:-1],
        nodes_up=up_series,
        probes_ok=ok_series,
        probes_failed=failed_series,
    )
