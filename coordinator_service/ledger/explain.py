"""Why each node's time in a period was or was not credited: the tally's own rules, traced.

`explain_credit` runs the very tally a payout runs (`tally.tally` with a `CreditTrace`), so the
credited seconds here are the payout's, and every second a node was up is either credited or
taken by a named rule: up but not relaying, not live, flagged, not verified by a passed probe,
no viewer slot, banned, another node credited for the same probed address.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import to_seconds
from coordinator_service.ledger.tally import CreditTrace, Tally, epoch_seconds, tally
from coordinator_service.storage.models import Node, Stream, UptimeInterval

__all__ = ["NOT_RELAYING", "NodeCredit", "credited_by_node", "explain_credit", "explain_node"]

NOT_RELAYING = "up but not relaying the stream"


@dataclass
class NodeCredit:
    """One node's time up in the period, its credited time, and what took the rest.

    `up_seconds - sum(lost seconds) == credited_seconds`. Nodes probed at one address in the
    period (`prober/identity.py`) are one person's (only one is credited unless the host approved
    more): `shared_relay` is that address, `shared_with` names the others. A node that lost
    time to `tally.NO_SLOT` (upload cap under the stream's bitrate) has `slot_needs_kbit`: the
    upload cap in kbit/s that would have given it a viewer slot (None otherwise).
    """

    node_id: str
    display_name: str
    up_seconds: int
    credited_seconds: int
    lost: list[tuple[str, int]] = field(default_factory=list)
    shared_relay: str = ""
    shared_with: list[str] = field(default_factory=list)
    slot_needs_kbit: int | None = None


async def explain_credit(
    session: AsyncSession, period_from: datetime, period_to: datetime, stream: str | None
) -> list[NodeCredit]:
    """Explain every node with time up in the period, most credited time first."""
    stream_ids: list[int] | None = None
    if stream is not None:
        stream_ids = list(await session.scalars(select(Stream.id).where(Stream.name == stream)))
    trace = CreditTrace()
    counted = await tally(session, period_from, period_to, stream_ids, trace)
    credited = credited_by_node(counted)
    up = await _up_seconds(session, period_from, period_to)
    node_ids = set(up) | set(trace.relayed)
    names = await _names(session, node_ids)
    report = [
        _node_credit(node_id, up.get(node_id, 0), credited.get(node_id, 0), trace, names)
        for node_id in node_ids
    ]
    return sorted(report, key=lambda r: (-r.credited_seconds, r.display_name, r.node_id))


async def explain_node(
    session: AsyncSession,
    node_id: str,
    period_from: datetime,
    period_to: datetime,
    credited: dict[str, int],
    trace: CreditTrace,
) -> NodeCredit:
    """Explain one node from a tally of all streams already traced (`credited_by_node` of it).

    Cheap enough for every node's own earnings request: it reads only this node's time up.
    """
    up = await _up_seconds(session, period_from, period_to, node_id)
    _, others = trace.shared.get(node_id, ("", []))
    names = await _names(session, {node_id, *others})
    return _node_credit(node_id, up.get(node_id, 0), credited.get(node_id, 0), trace, names)


def credited_by_node(counted: Tally) -> dict[str, int]:
    """Each node's credited seconds summed over the tally's streams."""
    credited: dict[str, int] = defaultdict(int)
    for line in counted.streams:
        for node_id, seconds in line.credited.items():
            credited[node_id] += seconds
    return dict(credited)


def _node_credit(
    node_id: str, up: int, credited: int, trace: CreditTrace, names: dict[str, str]
) -> NodeCredit:
    relayed = trace.relayed.get(node_id, 0)
    up_seconds = max(up, relayed)
    lost = [(NOT_RELAYING, up_seconds - relayed), *trace.lost.get(node_id, {}).items()]
    endpoint, others = trace.shared.get(node_id, ("", []))
    return NodeCredit(
        node_id=node_id,
        display_name=names.get(node_id, node_id),
        up_seconds=up_seconds,
        credited_seconds=credited,
        lost=[(why, seconds) for why, seconds in lost if seconds > 0],
        shared_relay=endpoint,
        shared_with=sorted(names.get(other, other) for other in others),
        slot_needs_kbit=trace.slot_needs_kbit.get(node_id),
    )


async def _names(session: AsyncSession, node_ids: set[str]) -> dict[str, str]:
    return {
        node_id: name
        for node_id, name in await session.execute(
            select(Node.id, Node.display_name).where(Node.id.in_(node_ids))
        )
    }


async def _up_seconds(
    session: AsyncSession, start: datetime, end: datetime, node_id: str | None = None
) -> dict[str, int]:
    """Each node's (or one node's) seconds up (heartbeating, any stream or none) in [start, end)."""
    lo, hi = to_seconds(start), to_seconds(end)
    up: dict[str, int] = defaultdict(int)
    query = select(
        UptimeInterval.node_id,
        epoch_seconds(session, UptimeInterval.started_at),
        epoch_seconds(session, UptimeInterval.ended_at),
    ).where(
        UptimeInterval.stream_id.is_(None),
        UptimeInterval.ended_at > start,
        UptimeInterval.started_at < end,
    )
    if node_id is not None:
        query = query.where(UptimeInterval.node_id == node_id)
    for owner, first, last in await session.execute(query):
        seconds = min(int(last), hi) - max(int(first), lo)
        if seconds > 0:
            up[owner] += seconds
    return dict(up)
