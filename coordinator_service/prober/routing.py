"""Pick where a viewer of a stream goes: a healthy node with spare capacity, else the origin.

Eligible nodes are active (not banned), not flagged, heard from within the heartbeat grace,
reporting the stream live within it, with a relay URL, and whose latest probe in the last
`UNREACHABLE_WINDOW` did not fail. Each gets weight `spare = capacity_kbit // VIEWER_KBIT −
viewers` (viewer slots left); one is drawn at random with probability proportional to its spare
slots. Nodes without spare slots get no viewers; with no eligible node the origin serves.
"""

import random
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.errors import NotFoundError
from coordinator_service.services.nodes import ACTIVE
from coordinator_service.storage.models import Node, Probe, Stream, UptimeInterval

__all__ = ["UNREACHABLE_WINDOW", "VIEWER_KBIT", "watch_target"]

VIEWER_KBIT = 2_000
UNREACHABLE_WINDOW = timedelta(minutes=15)


async def watch_target(
    session: AsyncSession,
    stream_name: str,
    now: datetime,
    grace: timedelta,
    rnd: random.Random | None = None,
) -> str:
    """Return the playlist URL a viewer of `stream_name` should be sent to."""
    stream = await session.scalar(select(Stream).where(Stream.name == stream_name))
    if stream is None:
        raise NotFoundError(f"there is no stream named {stream_name!r}", code="unknown_stream")
    since = now - grace
    relaying = exists().where(
        UptimeInterval.node_id == Node.id,
        UptimeInterval.stream_id == stream.id,
        UptimeInterval.ended_at >= since,
    )
    rows = (
        await session.execute(
            select(Node.id, Node.relay_url, Node.capacity_kbit, Node.viewers).where(
                Node.status == ACTIVE,
                Node.flagged.is_(False),
                Node.last_heartbeat_at >= since,
                Node.relay_url != "",
                relaying,
            )
        )
    ).all()
    if rows:
        failing = await _failing(session, [row[0] for row in rows], now - UNREACHABLE_WINDOW)
        weights = {
            relay_url: max(0, capacity // VIEWER_KBIT - viewers)
            for node_id, relay_url, capacity, viewers in rows
            if node_id not in failing
        }
        candidates = sorted(url for url, weight in weights.items() if weight > 0)
        if candidates:
            chosen = (rnd or random.SystemRandom()).choices(
                candidates, weights=[weights[url] for url in candidates]
            )[0]
            return f"{chosen.rstrip('/')}/live/{stream.name}.m3u8"
    return stream.origin_url


async def _failing(session: AsyncSession, node_ids: list[str], since: datetime) -> set[str]:
    """Return the nodes whose latest probe since `since` failed."""
    rows = await session.execute(
        select(Probe.node_id, Probe.ok)
        .where(Probe.node_id.in_(node_ids), Probe.at >= since)
        .order_by(Probe.node_id, Probe.at.desc(), Probe.id.desc())
    )
    latest: dict[str, bool] = {}
    for node_id, ok in rows.all():
        latest.setdefault(node_id, ok)
    return {node_id for node_id, ok in latest.items() if not ok}
