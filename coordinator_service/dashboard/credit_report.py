"""Why each node's time in a period was or was not credited, for the payout preview.

The credited seconds themselves always come from the ledger's payout computation; this module
only explains the gap between a node's time up and its credit, from the same records and rules:
time up but not relaying the stream, relaying while the stream was not live, flagged, not
verified by a passed probe (`ledger/verified.py`), banned, or sharing one probed address with
other nodes (only one of them is credited unless the host approved more). It needs nothing
from the computation, so the preview page loads it separately and both stay quick.

A node's uptime intervals for one stream never overlap (a heartbeat extends the open interval,
a gap starts a new one), so they are simply added up, clipped to the period and to each span in
which the stream was live. Only the few flagged nodes are worked out span by span, with the
ledger's own interval arithmetic (`ledger/credit.py`).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.dashboard.money import format_duration
from coordinator_service.ledger.credit import Span, clip, intersect, subtract, to_seconds
from coordinator_service.ledger.tally import (
    address_groups,
    live_spans,
    probed_addresses,
    unverified_by_node,
)
from coordinator_service.ledger.tally import epoch_seconds as epoch  # one per dialect
from coordinator_service.services.nodes import BANNED
from coordinator_service.storage.models import (
    FlagInterval,
    Node,
    Stream,
    UptimeInterval,
)

__all__ = ["CreditInputs", "NodeCredit", "explain", "explain_credit", "load_inputs"]


@dataclass
class NodeCredit:
    """One node's time up in the period, the time it can be credited, and why not the rest.

    Nodes whose relay URLs share a `host:port` are one relay: the ledger credits only one of
    them (the one with the most passed probes), so `shared_with` names the others.
    """

    node_id: str
    display_name: str
    up_seconds: int
    credited_seconds: int
    lost: list[tuple[str, int]] = field(default_factory=list)
    shared_relay: str = ""
    shared_with: list[str] = field(default_factory=list)

    @property
    def lost_text(self) -> str:
        """The reasons as one line: '1 h 02 min: flagged by failed probes; 5 s: …'."""
        return "; ".join(f"{format_duration(seconds)}: {why}" for why, seconds in self.lost)


@dataclass
class CreditInputs:
    """Per node, in seconds of the period: up, relaying, relaying while live, and flagged."""

    up: dict[str, int]
    relaying: dict[str, int]
    relaying_live: dict[str, int]
    flagged: dict[str, int]
    names: dict[str, str]
    banned: set[str]
    shared: dict[str, tuple[str, list[str]]]
    unverified: dict[str, int] = field(default_factory=dict)


async def load_inputs(
    db: AsyncSession, period_from: datetime, period_to: datetime, stream: str | None
) -> CreditInputs:
    """Add up each node's time in the period (the database half of the report)."""
    lo, hi = to_seconds(period_from), to_seconds(period_to)
    query = select(Stream.id)
    if stream is not None:
        query = query.where(Stream.name == stream)
    stream_ids = list((await db.scalars(query)).all())
    merged = await live_spans(db, stream_ids, period_from, period_to)
    live = {sid: clip(spans, lo, hi) for sid, spans in merged.items()}

    start_s, end_s = epoch(db, UptimeInterval.started_at), epoch(db, UptimeInterval.ended_at)
    overlapping = and_(UptimeInterval.ended_at > period_from, UptimeInterval.started_at < period_to)
    up: dict[str, int] = defaultdict(int)
    relaying: dict[str, int] = defaultdict(int)
    relaying_live: dict[str, int] = defaultdict(int)
    no_live: list[Span] = []
    # time up: intervals inside the period are summed by the database; the few that cross
    # its edges come back as rows and are clipped here
    inside = and_(UptimeInterval.started_at >= period_from, UptimeInterval.ended_at <= period_to)
    for node_id, seconds in await db.execute(
        select(UptimeInterval.node_id, func.sum(end_s - start_s))
        .where(UptimeInterval.stream_id.is_(None), inside)
        .group_by(UptimeInterval.node_id)
    ):
        up[node_id] += int(seconds or 0)
    for node_id, row_stream, start, end in await db.execute(
        select(UptimeInterval.node_id, UptimeInterval.stream_id, start_s, end_s).where(
            or_(
                UptimeInterval.stream_id.in_(stream_ids),
                and_(UptimeInterval.stream_id.is_(None), ~inside),
            ),
            overlapping,
        )
    ):
        start, end = max(start, lo), min(end, hi)
        if end <= start:
            continue
        if row_stream is None:
            up[node_id] += end - start
            continue
        relaying[node_id] += end - start
        for a, b in live.get(int(row_stream or 0), no_live):
            if a < end and b > start:
                relaying_live[node_id] += min(b, end) - max(a, start)
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
    flagged: dict[str, int] = {}
    unchecked = await unverified_by_node(db, set(relaying), period_from, period_to)
    unverified: dict[str, int] = {}
    if flags or unchecked:
        flagged_spans: dict[tuple[str, int], list[Span]] = defaultdict(list)
        for node_id, flagged_stream, start, end in await db.execute(
            select(UptimeInterval.node_id, UptimeInterval.stream_id, start_s, end_s).where(
                UptimeInterval.node_id.in_(sorted(set(flags) | set(unchecked))),
                UptimeInterval.stream_id.in_(stream_ids),
                overlapping,
            )
        ):
            flagged_spans[(node_id, int(flagged_stream or 0))].append((int(start), int(end)))
        for (node_id, sid), node_spans in flagged_spans.items():
            live_part = intersect(clip(node_spans, lo, hi), live.get(sid, []))
            not_flagged = subtract(live_part, flags.get(node_id, []))
            checked = subtract(not_flagged, unchecked.get(node_id, []))
            lost = sum(e - s for s, e in live_part) - sum(e - s for s, e in not_flagged)
            flagged[node_id] = flagged.get(node_id, 0) + lost
            unseen = sum(e - s for s, e in not_flagged) - sum(e - s for s, e in checked)
            unverified[node_id] = unverified.get(node_id, 0) + unseen

    node_ids = set(up) | set(relaying)
    names: dict[str, str] = {}
    banned: set[str] = set()
    creditable: set[str] = set()
    for node_id, name, status in await db.execute(
        select(Node.id, Node.display_name, Node.status).where(Node.id.in_(node_ids))
    ):
        names[node_id] = name
        if status == BANNED:
            banned.add(node_id)
        elif relaying_live.get(node_id, 0) > flagged.get(node_id, 0) + unverified.get(node_id, 0):
            creditable.add(node_id)
    keys, _ = await probed_addresses(db, creditable, period_from, period_to)
    shared = {
        node_id: (", ".join(sorted(group_keys)), [names[o] for o in ids if o != node_id])
        for ids, group_keys in address_groups(keys)
        for node_id in ids
    }
    return CreditInputs(
        dict(up),
        dict(relaying),
        dict(relaying_live),
        flagged,
        names,
        banned,
        shared,
        unverified,
    )


def explain(inputs: CreditInputs) -> list[NodeCredit]:
    """Explain every node with time up in the period, most creditable time first."""
    report = []
    for node_id in set(inputs.up) | set(inputs.relaying):
        relaying = inputs.relaying.get(node_id, 0)
        live = inputs.relaying_live.get(node_id, 0)
        flagged = inputs.flagged.get(node_id, 0)
        unverified = inputs.unverified.get(node_id, 0)
        up = max(inputs.up.get(node_id, 0), relaying)
        banned = node_id in inputs.banned
        lost = [
            ("up but not relaying the stream", up - relaying),
            ("relaying while the stream was not live", relaying - live),
            ("flagged by failed probes", flagged),
            ("not verified by a passed probe", unverified),
            ("banned by the host", live - flagged - unverified if banned else 0),
        ]
        shared = inputs.shared.get(node_id)
        report.append(
            NodeCredit(
                node_id=node_id,
                display_name=inputs.names.get(node_id, node_id),
                up_seconds=up,
                credited_seconds=0 if banned else live - flagged - unverified,
                lost=[(why, seconds) for why, seconds in lost if seconds > 0],
                shared_relay=shared[0] if shared else "",
                shared_with=shared[1] if shared else [],
            )
        )
    return sorted(report, key=lambda r: (-r.credited_seconds, r.display_name, r.node_id))


async def explain_credit(
    db: AsyncSession, period_from: datetime, period_to: datetime, stream: str | None
) -> list[NodeCredit]:
    """Load the period's figures and explain every node's credit."""
    return explain(await load_inputs(db, period_from, period_to, stream))
