"""Why each node's time in a period was or was not credited, for the payout preview.

The credited seconds themselves always come from the ledger's payout computation; this module
only explains the gap between a node's time up and its credit, with the ledger's own interval
arithmetic (`ledger/credit.py`): time up but not relaying the stream, relaying while the stream
was not live, flagged, or a duplicate of another node's relay (credited once).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import (
    Span,
    clip,
    intersect,
    merge,
    subtract,
    to_seconds,
)
from coordinator_service.ledger.tally import _epoch as epoch  # one epoch expression per dialect
from coordinator_service.storage.models import (
    FlagInterval,
    Node,
    Stream,
    StreamLiveInterval,
    UptimeInterval,
)

__all__ = ["CreditInputs", "NodeCredit", "explain", "explain_credit", "load_inputs"]


@dataclass
class NodeCredit:
    """One node's time up in the period, its credit, and the reasons for the rest."""

    node_id: str
    display_name: str
    up_seconds: int
    credited_seconds: int
    lost: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class CreditInputs:
    """A period's spans in epoch seconds: what `explain` needs from the database."""

    lo: int
    hi: int
    up_seconds: dict[str, int]
    relaying: dict[tuple[str, int], list[Span]]
    live: dict[int, list[Span]]
    flags: dict[str, list[Span]]
    names: dict[str, str]


async def load_inputs(
    db: AsyncSession, period_from: datetime, period_to: datetime, stream: str | None
) -> CreditInputs:
    """Read the period's uptime, live and flag spans (the database half of the report)."""
    lo, hi = to_seconds(period_from), to_seconds(period_to)
    query = select(Stream.id)
    if stream is not None:
        query = query.where(Stream.name == stream)
    stream_ids = list((await db.scalars(query)).all())
    live: dict[int, list[Span]] = defaultdict(list)
    for sid, start, end in await db.execute(
        select(
            StreamLiveInterval.stream_id,
            epoch(db, StreamLiveInterval.started_at),
            epoch(db, StreamLiveInterval.ended_at),
        ).where(
            StreamLiveInterval.stream_id.in_(stream_ids),
            StreamLiveInterval.ended_at > period_from,
            StreamLiveInterval.started_at < period_to,
        )
    ):
        live[sid].append((int(start), int(end)))
    # A node's plain uptime intervals never overlap (a beat extends the open one, a gap starts
    # a new one), so its time up is a sum the database does, clipped to the period.
    start_s, end_s = epoch(db, UptimeInterval.started_at), epoch(db, UptimeInterval.ended_at)
    clipped_s = case((end_s > hi, hi), else_=end_s) - case((start_s < lo, lo), else_=start_s)
    up_seconds: dict[str, int] = {
        node_id: int(total_s or 0)
        for node_id, total_s in await db.execute(
            select(UptimeInterval.node_id, func.sum(clipped_s))
            .where(
                UptimeInterval.stream_id.is_(None),
                UptimeInterval.ended_at > period_from,
                UptimeInterval.started_at < period_to,
            )
            .group_by(UptimeInterval.node_id)
        )
    }
    relaying: dict[tuple[str, int], list[Span]] = defaultdict(list)
    for node_id, row_stream, up_start, up_end in await db.execute(
        select(UptimeInterval.node_id, UptimeInterval.stream_id, start_s, end_s).where(
            UptimeInterval.stream_id.in_(stream_ids),
            UptimeInterval.ended_at > period_from,
            UptimeInterval.started_at < period_to,
        )
    ):
        relaying[(node_id, int(row_stream or 0))].append((int(up_start), int(up_end)))
    flags: dict[str, list[Span]] = defaultdict(list)
    for node_id, flag_start, flag_end in await db.execute(
        select(
            FlagInterval.node_id,
            epoch(db, FlagInterval.started_at),
            epoch(db, FlagInterval.ended_at),
        ).where(
            or_(FlagInterval.ended_at.is_(None), FlagInterval.ended_at > period_from),
            FlagInterval.started_at < period_to,
        )
    ):
        flags[node_id].append((int(flag_start), hi if flag_end is None else int(flag_end)))

    names = dict(
        (
            await db.execute(
                select(Node.id, Node.display_name).where(
                    Node.id.in_(set(up_seconds) | {node_id for node_id, _ in relaying})
                )
            )
        ).all()
    )
    return CreditInputs(lo, hi, up_seconds, relaying, live, flags, names)


def explain(inputs: CreditInputs, credited: dict[str, int]) -> list[NodeCredit]:
    """Explain every node with time up in the period; `credited` is the ledger's result."""
    lo, hi = inputs.lo, inputs.hi
    up_seconds, relaying, live, flags = (
        inputs.up_seconds,
        inputs.relaying,
        inputs.live,
        inputs.flags,
    )
    names = inputs.names
    node_ids = set(up_seconds) | {node_id for node_id, _ in relaying} | set(credited)
    report: dict[str, NodeCredit] = {}
    streams_by_node: dict[str, list[int]] = defaultdict(list)
    for nid, sid in relaying:
        streams_by_node[nid].append(sid)
    live_merged = {sid: clip(merge(spans), lo, hi) for sid, spans in live.items()}

    def clipped(spans: list[Span]) -> list[Span]:
        return merge((max(s, lo), min(e, hi)) for s, e in spans if e > lo and s < hi)

    def seconds(disjoint: list[Span]) -> int:
        return sum(e - s for s, e in disjoint)

    for node_id in node_ids:
        mine_by_stream = {
            sid: clipped(relaying[(node_id, sid)]) for sid in streams_by_node.get(node_id, [])
        }
        if len(mine_by_stream) == 1:
            all_relaying = next(iter(mine_by_stream.values()))
        else:
            all_relaying = merge(span for spans in mine_by_stream.values() for span in spans)
        relaying_s = seconds(all_relaying)
        up_s = max(up_seconds.get(node_id, 0), relaying_s)
        not_relaying = up_s - relaying_s
        not_live = flagged = would_credit = 0
        node_flags = merge(flags.get(node_id, []))
        for sid, mine in mine_by_stream.items():
            live_spans = intersect(mine, live_merged.get(sid, []))
            live_part = seconds(live_spans)
            allowed = seconds(subtract(live_spans, node_flags)) if node_flags else live_part
            not_live += seconds(mine) - live_part
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


async def explain_credit(
    db: AsyncSession,
    period_from: datetime,
    period_to: datetime,
    stream: str | None,
    credited: dict[str, int],
) -> list[NodeCredit]:
    """Load the period's spans and explain every node's credit."""
    return explain(await load_inputs(db, period_from, period_to, stream), credited)
