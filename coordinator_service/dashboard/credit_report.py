"""Why each node's time in a period was or was not credited, for the payout preview.

The credited seconds themselves always come from the ledger's payout computation; this module
only explains the gap between a node's time up and its credit, with the ledger's own interval
arithmetic (`ledger/credit.py`): time up but not relaying the stream, relaying while the stream
was not live, flagged, or a duplicate of another node's relay (credited once).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import (
    Span,
    clip,
    credited_seconds,
    intersect,
    merge,
    to_seconds,
    total,
)
from coordinator_service.storage.models import (
    FlagInterval,
    Node,
    Stream,
    StreamLiveInterval,
    UptimeInterval,
)

__all__ = ["NodeCredit", "explain_credit"]


@dataclass
class NodeCredit:
    """One node's time up in the period, its credit, and the reasons for the rest."""

    node_id: str
    display_name: str
    up_seconds: int
    credited_seconds: int
    lost: list[tuple[str, int]] = field(default_factory=list)


async def explain_credit(
    db: AsyncSession,
    period_from: datetime,
    period_to: datetime,
    stream: str | None,
    credited: dict[str, int],
) -> list[NodeCredit]:
    """Explain every node with time up in the period; `credited` is the ledger's result."""
    lo, hi = to_seconds(period_from), to_seconds(period_to)
    query = select(Stream.id)
    if stream is not None:
        query = query.where(Stream.name == stream)
    stream_ids = list((await db.scalars(query)).all())
    live: dict[int, list[Span]] = defaultdict(list)
    for sid, start, end in await db.execute(
        select(
            StreamLiveInterval.stream_id, StreamLiveInterval.started_at, StreamLiveInterval.ended_at
        ).where(
            StreamLiveInterval.stream_id.in_(stream_ids),
            StreamLiveInterval.ended_at > period_from,
            StreamLiveInterval.started_at < period_to,
        )
    ):
        live[sid].append((to_seconds(start), to_seconds(end)))
    up: dict[str, list[Span]] = defaultdict(list)
    relaying: dict[tuple[str, int], list[Span]] = defaultdict(list)
    for node_id, maybe_sid, up_start, up_end in await db.execute(
        select(
            UptimeInterval.node_id,
            UptimeInterval.stream_id,
            UptimeInterval.started_at,
            UptimeInterval.ended_at,
        ).where(
            or_(UptimeInterval.stream_id.is_(None), UptimeInterval.stream_id.in_(stream_ids)),
            UptimeInterval.ended_at > period_from,
            UptimeInterval.started_at < period_to,
        )
    ):
        span = (to_seconds(up_start), to_seconds(up_end))
        if maybe_sid is None:
            up[node_id].append(span)
        else:
            relaying[(node_id, maybe_sid)].append(span)
    flags: dict[str, list[Span]] = defaultdict(list)
    for node_id, flag_start, flag_end in await db.execute(
        select(FlagInterval.node_id, FlagInterval.started_at, FlagInterval.ended_at).where(
            or_(FlagInterval.ended_at.is_(None), FlagInterval.ended_at > period_from),
            FlagInterval.started_at < period_to,
        )
    ):
        flags[node_id].append(
            (to_seconds(flag_start), hi if flag_end is None else to_seconds(flag_end))
        )

    node_ids = set(up) | {node_id for node_id, _ in relaying} | set(credited)
    names = dict(
        (await db.execute(select(Node.id, Node.display_name).where(Node.id.in_(node_ids)))).all()
    )
    report: dict[str, NodeCredit] = {}
    for node_id in node_ids:
        streams_of_node = [sid for (nid, sid) in relaying if nid == node_id]
        all_relaying = merge(span for sid in streams_of_node for span in relaying[(node_id, sid)])
        up_s = total(clip(merge([*up.get(node_id, []), *all_relaying]), lo, hi))
        not_relaying = up_s - total(clip(all_relaying, lo, hi))
        not_live = flagged = would_credit = 0
        for sid in streams_of_node:
            mine = clip(merge(relaying[(node_id, sid)]), lo, hi)
            live_part = total(clip(intersect(mine, merge(live.get(sid, []))), lo, hi))
            allowed = credited_seconds(
                mine, merge(live.get(sid, [])), flags.get(node_id, []), (lo, hi)
            )
            not_live += total(mine) - live_part
            flagged += live_part - allowed
            would_credit += allowed
        got = credited.get(node_id, 0)
        lost = [
            ("up but not relaying the stream", not_relaying),
            ("relaying while the stream was not live", not_live),
            ("flagged by failed probes", flagged),
            ("same relay address as another node (credited once)", max(0, would_credit - got)),
        ]
        report[node_id] = NodeCredit(
            node_id=node_id,
            display_name=names.get(node_id, node_id),
            up_seconds=up_s,
            credited_seconds=got,
            lost=[(why, seconds) for why, seconds in lost if seconds > 0],
        )
    return sorted(report.values(), key=lambda r: (-r.credited_seconds, r.display_name, r.node_id))
