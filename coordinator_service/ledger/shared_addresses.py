"""Nodes credited from one address per stream (one person, one share) and the host's say on them.

`shared_addresses` runs the very tally a payout runs over the last `WINDOW` (`tally.tally` with a
`CreditTrace`), so the groups it lists and who in them is credited are what a payout of that
period would show. It tallies only the nodes whose passed probes reached one address at all
(one cheap query first; mostly none): the dashboard shows the groups on its pages.

The host answers a group with `approve_address` (up to N nodes earn: a household of friends),
`keep_one` (the default rule, recorded as the host's decision so the dashboard stops asking) or
`withdraw_approval` (back to the default, asked again). A decision is stored per address key
(`prober/identity.py`) in `AddressApproval`, which the tally and `/watch` routing read; it
applies to every key of the group it was made on.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.errors import NotFoundError, ValidationError
from coordinator_service.ledger.tally import (
    AddressGroup,
    CreditTrace,
    address_groups,
    probed_addresses,
    tally,
)
from coordinator_service.prober.identity import key_of_typed_address
from coordinator_service.services.streams import get_stream
from coordinator_service.storage.models import AddressApproval, Node, Stream

__all__ = [
    "APPROVED",
    "KEPT_ONE",
    "MAX_APPROVED",
    "PENDING",
    "WHY_ONE_SHARE",
    "WINDOW",
    "GroupNode",
    "SharedAddress",
    "State",
    "approve_address",
    "keep_one",
    "shared_addresses",
    "withdraw_approval",
]

WINDOW = timedelta(hours=24)  # the groups of a payout of the last day
MAX_APPROVED = 100
State = Literal["pending", "approved", "kept_one"]
PENDING: State = "pending"  # more nodes than may earn, and the host has not decided
APPROVED: State = "approved"  # the host let all of them earn
KEPT_ONE: State = "kept_one"  # the host decided one earns
WHY_ONE_SHARE = (
    "Nodes at one address are usually one person's, and one person gets one share, so only one "
    "of them earns unless you approve more (friends sharing a home, say)."
)


@dataclass(frozen=True, slots=True)
class GroupNode:
    """A node of a group: whether the tally of the window credited it."""

    node_id: str
    display_name: str
    credited: bool


@dataclass(frozen=True, slots=True)
class SharedAddress:
    """Nodes of one stream credited in the window from one address, and the host's decision."""

    stream_name: str
    address: str  # the key the decision is stored under (the first if they share several)
    keys: list[str]
    nodes: list[GroupNode]
    max_nodes: int | None  # the host's decision, None if none
    approved_at: datetime | None

    @property
    def state(self) -> State:
        """`kept_one`, `approved` (every node may earn) or `pending` (the host is asked)."""
        if self.max_nodes == 1:
            return KEPT_ONE
        if self.max_nodes is not None and self.max_nodes >= len(self.nodes):
            return APPROVED
        return PENDING

    @property
    def credited_names(self) -> list[str]:
        """Display names of the nodes credited."""
        return [n.display_name for n in self.nodes if n.credited]

    @property
    def where(self) -> str:
        """The address (or addresses) as shown to the host."""
        return ", ".join(self.keys)


async def shared_addresses(
    session: AsyncSession, now: datetime, window: timedelta = WINDOW
) -> list[SharedAddress]:
    """List every group of nodes credited from one address per stream in the last `window`."""
    keys, _ = await probed_addresses(session, None, now - window, now)
    candidates = {n for group, _ in address_groups(keys) for n in group}
    if not candidates:  # the tally's groups are among these: mostly none, and cheap to learn
        return []
    trace = CreditTrace()
    counted = await tally(session, now - window, now, None, trace, node_ids=candidates)
    if not trace.groups:
        return []
    names = {stream.stream_id: stream.name for stream in counted.streams}
    node_ids = {node_id for group in trace.groups for node_id in group.node_ids}
    display: dict[str, str] = {
        node_id: name
        for node_id, name in await session.execute(
            select(Node.id, Node.display_name).where(Node.id.in_(node_ids))
        )
    }
    decisions = {
        (row.stream_id, row.address): row
        for row in await session.scalars(
            select(AddressApproval).where(
                AddressApproval.stream_id.in_({g.stream_id for g in trace.groups})
            )
        )
    }
    listed = [_shared(group, names[group.stream_id], display, decisions) for group in trace.groups]
    return sorted(listed, key=lambda s: (s.stream_name, s.keys))


def _shared(
    group: AddressGroup,
    stream_name: str,
    display: dict[str, str],
    decisions: dict[tuple[int, str], AddressApproval],
) -> SharedAddress:
    made = [
        decisions[(group.stream_id, k)] for k in group.keys if (group.stream_id, k) in decisions
    ]
    decision = max(made, key=lambda row: row.max_nodes, default=None)  # as the tally reads them
    return SharedAddress(
        stream_name=stream_name,
        address=group.keys[0] if decision is None else decision.address,
        keys=group.keys,
        nodes=[
            GroupNode(node_id, display.get(node_id, node_id), node_id in group.credited)
            for node_id in group.node_ids
        ],
        max_nodes=None if decision is None else decision.max_nodes,
        approved_at=None if decision is None else decision.approved_at,
    )


async def approve_address(
    session: AsyncSession, stream_name: str, address: str, max_nodes: int | None, now: datetime
) -> SharedAddress:
    """Let up to `max_nodes` (default: all) of the nodes at `address` earn on a stream; commit."""
    if max_nodes is not None and not 2 <= max_nodes <= MAX_APPROVED:
        raise ValidationError(
            f"--max must be 2 to {MAX_APPROVED} (to let one node earn, keep one instead)"
        )
    group = await _find(session, stream_name, address, now)
    await _decide(session, group, max_nodes or len(group.nodes), now)
    return await _find(session, stream_name, address, now)


async def keep_one(
    session: AsyncSession, stream_name: str, address: str, now: datetime
) -> SharedAddress:
    """Record that one node at `address` earns on a stream (the default, decided); commit."""
    group = await _find(session, stream_name, address, now)
    await _decide(session, group, 1, now)
    return await _find(session, stream_name, address, now)


async def withdraw_approval(
    session: AsyncSession, stream_name: str, address: str, now: datetime
) -> int:
    """Forget the host's decision on `address` (and its group's addresses); return rows gone."""
    stream = await get_stream(session, stream_name)
    key = _key(address)
    keys = {key}
    for group in await shared_addresses(session, now):
        if group.stream_name == stream.name and key in group.keys:
            keys.update(group.keys)
    gone = await session.execute(
        delete(AddressApproval).where(
            AddressApproval.stream_id == stream.id, AddressApproval.address.in_(sorted(keys))
        )
    )
    count = int(gone.rowcount)  # type: ignore[attr-defined]
    if count == 0:
        raise NotFoundError(
            f"no approval for address {address.strip()} on stream {stream.name}",
            code="unknown_approval",
        )
    await session.commit()
    return count


def _key(address: str) -> str:
    key = key_of_typed_address(address)
    if not key:
        raise ValidationError(
            f"{address.strip()!r} is not an address: write it as listed, like 203.0.113.7, "
            "2001:db8:1:2::/64 or (private) 192.168.1.20:8430"
        )
    return key


async def _find(
    session: AsyncSession, stream_name: str, address: str, now: datetime
) -> SharedAddress:
    stream: Stream = await get_stream(session, stream_name)
    key = _key(address)
    for group in await shared_addresses(session, now):
        if group.stream_name == stream.name and key in group.keys:
            return group
    raise NotFoundError(
        f"no nodes share address {key} on stream {stream.name} in the last "
        f"{WINDOW.total_seconds() / 3600:.0f} hours (see `nodes addresses`)",
        code="unknown_address",
    )


async def _decide(
    session: AsyncSession, group: SharedAddress, max_nodes: int, now: datetime
) -> None:
    stream = await get_stream(session, group.stream_name)
    for key in group.keys:
        row = await session.get(AddressApproval, (stream.id, key))
        if row is None:
            session.add(
                AddressApproval(
                    stream_id=stream.id, address=key, max_nodes=max_nodes, approved_at=now
                )
            )
        else:
            row.max_nodes, row.approved_at = max_nodes, now
    await session.commit()
