"""Read-only queries behind the dashboard pages, each a few indexed SQL statements."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.dashboard import stats
from coordinator_service.ledger import shared_addresses
from coordinator_service.ledger.credit import as_utc
from coordinator_service.services import nodes as nodes_service
from coordinator_service.services.clock import utcnow
from coordinator_service.storage.models import (
    FlagInterval,
    Invite,
    Node,
    NodeProfileChange,
    Probe,
    Stream,
    UptimeInterval,
)

__all__ = [
    "NODE_STATES",
    "NodeRow",
    "list_invites",
    "list_nodes",
    "list_streams",
    "node_detail",
    "node_state",
    "relay_owner",
    "shared_on_page_load",
    "supporters_now",
    "utcnow",
]

NODE_STATES = ("healthy", "flagged", "silent", "banned", "left", "new")


def node_state(node: Node, now: datetime, silent_after_s: float) -> str:
    """Return what the host sees of a node (the coordinator's own rule)."""
    return nodes_service.node_state(node, now, timedelta(seconds=silent_after_s))


@dataclass
class StreamRow:
    """A stream with the nodes relaying it now."""

    stream: Stream
    relaying: int
    viewers: int


async def list_streams(db: AsyncSession, now: datetime, silent_after_s: float) -> list[StreamRow]:
    """Return every stream with how many usable nodes relay it now."""
    alive_since = now - timedelta(seconds=silent_after_s)
    streams = (await db.scalars(select(Stream).order_by(Stream.name))).all()
    counts = dict(
        (
            await db.execute(
                select(UptimeInterval.stream_id, func.count(func.distinct(UptimeInterval.node_id)))
                .join(Node, Node.id == UptimeInterval.node_id)
                .where(
                    UptimeInterval.stream_id.is_not(None),
                    UptimeInterval.ended_at >= alive_since,
                    Node.status != "banned",
                    Node.flagged.is_(False),
                )
                .group_by(UptimeInterval.stream_id)
            )
        ).all()
    )
    return [StreamRow(s, int(counts.get(s.id, 0)), 0) for s in streams]


@dataclass
class NodeRow:
    """A node as one row of the nodes table."""

    node: Node
    state: str
    reputation: float
    last_probe_ok: bool | None
    last_probe_reason: str
    last_probe_at: datetime | None


def _state_filter(state: str, now: datetime, silent_after_s: float) -> Any:
    alive_since = now - timedelta(seconds=silent_after_s)
    # the order of services.nodes.node_state: banned, left, flagged, then by the last beat
    here = Node.status.not_in((nodes_service.BANNED, nodes_service.LEFT))
    usable = and_(here, Node.flagged.is_(False))
    return {
        "banned": Node.status == nodes_service.BANNED,
        "left": Node.status == nodes_service.LEFT,
        "flagged": and_(here, Node.flagged),
        "new": and_(usable, Node.last_heartbeat_at.is_(None)),
        "silent": and_(usable, Node.last_heartbeat_at < alive_since),
        "healthy": and_(usable, Node.last_heartbeat_at >= alive_since),
    }.get(state)


async def list_nodes(
    db: AsyncSession,
    now: datetime,
    silent_after_s: float,
    *,
    state: str = "",
    search: str = "",
    page: int = 1,
    per_page: int = 100,
) -> tuple[list[NodeRow], int]:
    """Return one page of nodes (with each one's latest probe) and the count that match."""
    conditions: list[Any] = []
    state_condition = _state_filter(state, now, silent_after_s)
    if state_condition is not None:
        conditions.append(state_condition)
    if search:
        pattern = f"%{search.lower()}%"
        conditions.append(
            or_(func.lower(Node.display_name).like(pattern), func.lower(Node.id).like(pattern))
        )
    total = await db.scalar(select(func.count()).select_from(Node).where(*conditions)) or 0
    latest = (
        select(Probe.id)
        .where(Probe.node_id == Node.id)
        .order_by(Probe.at.desc())
        .limit(1)
        .correlate(Node)
        .scalar_subquery()
    )
    rows = (
        await db.execute(
            select(Node, latest.label("probe_id"))
            .where(*conditions)
            .order_by(Node.display_name, Node.id)
            .offset((max(page, 1) - 1) * per_page)
            .limit(per_page)
        )
    ).all()
    probe_ids = [pid for _, pid in rows if pid is not None]
    probes = {}
    if probe_ids:
        probes = {p.id: p for p in (await db.scalars(select(Probe).where(Probe.id.in_(probe_ids))))}
    result = []
    for node, probe_id in rows:
        probe = probes.get(probe_id)
        result.append(
            NodeRow(
                node=node,
                state=node_state(node, now, silent_after_s),
                reputation=nodes_service.reputation(node),
                last_probe_ok=probe.ok if probe else None,
                last_probe_reason=probe.reason if probe else "",
                last_probe_at=probe.at if probe else None,
            )
        )
    return result, int(total)


@dataclass
class NodeDetail:
    """Everything the node page shows."""

    row: NodeRow
    probes: list[Probe]
    reputation_history: list[float]
    flags: list[FlagInterval]
    uptime_24h_s: int
    invite_note: str
    profile_changes: list[NodeProfileChange] = field(default_factory=list)


async def node_detail(
    db: AsyncSession, node_id: str, now: datetime, silent_after_s: float
) -> NodeDetail | None:
    """Return a node's page data, or None when there is no such node."""
    node = await db.get(Node, node_id)
    if node is None:
        return None
    probes = list(
        (
            await db.scalars(
                select(Probe).where(Probe.node_id == node_id).order_by(Probe.at.desc()).limit(100)
            )
        ).all()
    )
    history = [p.reputation_after for p in reversed(probes) if p.reputation_after is not None]
    flags = list(
        (
            await db.scalars(
                select(FlagInterval)
                .where(FlagInterval.node_id == node_id)
                .order_by(FlagInterval.started_at.desc())
                .limit(20)
            )
        ).all()
    )
    since = now - timedelta(hours=stats.HOURS)
    spans = (
        await db.execute(
            select(UptimeInterval.started_at, UptimeInterval.ended_at).where(
                UptimeInterval.node_id == node_id,
                UptimeInterval.stream_id.is_(None),
                UptimeInterval.ended_at >= since,
            )
        )
    ).all()
    up = sum(
        max(0.0, (min(as_utc(end), now) - max(as_utc(start), since)).total_seconds())
        for start, end in spans
    )
    note = ""
    if node.invite_id:
        invite = await db.get(Invite, node.invite_id)
        note = invite.note if invite else ""
    latest = probes[0] if probes else None
    row = NodeRow(
        node=node,
        state=node_state(node, now, silent_after_s),
        reputation=nodes_service.reputation(node),
        last_probe_ok=latest.ok if latest else None,
        last_probe_reason=latest.reason if latest else "",
        last_probe_at=latest.at if latest else None,
    )
    changes = list(
        (
            await db.scalars(
                select(NodeProfileChange)
                .where(NodeProfileChange.node_id == node_id)
                .order_by(NodeProfileChange.changed_at.desc())
                .limit(20)
            )
        ).all()
    )
    return NodeDetail(row, probes, history, flags, int(up), note, changes)


async def list_invites(db: AsyncSession, limit: int = 200) -> list[tuple[Invite, int]]:
    """Return the newest invites, each with how many nodes joined through it."""
    joined = (
        select(func.count()).where(Node.invite_id == Invite.id).correlate(Invite).scalar_subquery()
    )
    rows = (
        await db.execute(select(Invite, joined).order_by(Invite.created_at.desc()).limit(limit))
    ).all()
    return [(invite, int(count)) for invite, count in rows]


async def supporters_now(
    db: AsyncSession, stream_id: int, now: datetime, silent_after_s: float, limit: int = 5
) -> tuple[list[str], int]:
    """Return up to `limit` display names of friends relaying a stream now, and their count.

    Anonymous nodes are counted but never named; flagged and banned nodes are left out.
    """
    alive_since = now - timedelta(seconds=silent_after_s)
    rows = (
        await db.execute(
            select(Node.display_name, Node.anonymous)
            .where(
                Node.status != "banned",
                Node.flagged.is_(False),
                Node.last_heartbeat_at >= alive_since,
                select(UptimeInterval.id)
                .where(
                    UptimeInterval.node_id == Node.id,
                    UptimeInterval.stream_id == stream_id,
                    UptimeInterval.ended_at >= alive_since,
                )
                .exists(),
            )
            .order_by(Node.created_at, Node.id)
        )
    ).all()
    names = [name for name, anonymous in rows if not anonymous]
    return names[:limit], len(rows)


async def relay_owner(db: AsyncSession, url: str) -> tuple[str, bool] | None:
    """Return (display name, anonymous) of the node whose relay serves `url`, if any."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    base = f"{parts.scheme}://{parts.netloc}"
    rows = (
        await db.execute(
            select(Node.display_name, Node.anonymous, Node.relay_url)
            .where(Node.relay_url.like(base.replace("%", "") + "%"), Node.status != "banned")
            .limit(20)
        )
    ).all()
    for name, anonymous, relay_url in rows:
        relay = urlsplit(relay_url)
        if (relay.scheme, relay.netloc) == (parts.scheme, parts.netloc):
            return name, anonymous
    return None


async def shared_on_page_load(
    db: AsyncSession, now: datetime, live_refresh: bool
) -> list[shared_addresses.SharedAddress]:
    """Return the groups of nodes from one address for a page load; none for app.js's 5-s
    refresh (they cost a scan of the day's probes, and a tally when there are any)."""
    if live_refresh:
        return []
    return await shared_addresses.shared_addresses(db, now)
