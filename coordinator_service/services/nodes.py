"""Nodes: registration by invite, tokens, bans, and the state derived from heartbeats."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.errors import AuthError, NotFoundError
from coordinator_service.prober.reputation import INITIAL_ALPHA, Reputation
from coordinator_service.services.clock import utcnow
from coordinator_service.services.invites import redeem_invite
from coordinator_service.services.lineage import check_relay_url_free, inherited_reputation
from coordinator_service.services.tokens import hash_secret, new_id, new_token
from coordinator_service.storage.models import (
    FlagInterval,
    Node,
    NodeCapacityChange,
    NodeProfileChange,
    Probe,
    RelayEndpoint,
)

__all__ = [
    "PRIVATE_ADDRESS_FIX",
    "ACTIVE",
    "BANNED",
    "LEFT",
    "NewNode",
    "Registration",
    "authenticate_node",
    "get_node",
    "list_nodes",
    "node_state",
    "register_node",
    "reputation",
    "set_banned",
    "update_profile",
]

ACTIVE = "active"
BANNED = "banned"
LEFT = "left"  # the friend left from the app: never probed or routed again, token void


@dataclass(frozen=True)
class NewNode:
    """What a friend's node tells about itself when it joins."""

    display_name: str
    payout_handle: str
    relay_url: str
    capacity_kbit: int = 10_000
    anonymous: bool = False
    version: str = "0"
    registered_ip: str = ""


@dataclass(frozen=True)
class Registration:
    """A registered node and its secrets, which exist only here (the database keeps hashes)."""

    node: Node
    token: str
    probe_key: str


async def register_node(session: AsyncSession, invite_code: str, new: NewNode) -> Registration:
    """Redeem the invite and create the node in one transaction; commit."""
    now = utcnow()
    invite_id = await redeem_invite(session, invite_code, now)
    await check_relay_url_free(session, new.relay_url, now)
    past = await inherited_reputation(
        session, new.registered_ip, new.relay_url, new.payout_handle
    ) or Reputation(INITIAL_ALPHA, 0.0, False)
    token = new_token()
    probe_key = new_token()
    node = Node(
        id=new_id(),
        token_hash=hash_secret(token),
        probe_key=probe_key,
        display_name=new.display_name,
        payout_handle=new.payout_handle,
        anonymous=new.anonymous,
        relay_url=new.relay_url,
        registered_ip=new.registered_ip[:64],
        capacity_kbit=new.capacity_kbit,
        viewers=0,
        bytes_served=0,
        version=new.version,
        invite_id=invite_id,
        status=ACTIVE,
        reputation_alpha=past.alpha,
        reputation_beta=past.beta,
        flagged=past.flagged,
        streams_reported="",
        created_at=now,
        last_heartbeat_at=None,
        next_probe_at=None,
    )
    session.add(node)
    await session.flush()
    # its first relay URL: unprobed (no viewers, no credit) until a probe there passes
    session.add(RelayEndpoint(node_id=node.id, relay_url=new.relay_url, started_at=now))
    # its first capacity: the viewer slot rule (ledger/slots.py) reads it from here on
    session.add(
        NodeCapacityChange(node_id=node.id, capacity_kbit=new.capacity_kbit, started_at=now)
    )
    if past.flagged:
        session.add(
            FlagInterval(
                node_id=node.id,
                started_at=now,
                ended_at=None,
                reason="registered again like a flagged or banned node",
            )
        )
    await session.commit()
    return Registration(node, token, probe_key)


async def authenticate_node(session: AsyncSession, token: str) -> Node:
    """Return the node whose token this is, or raise AuthError."""
    node = await session.scalar(select(Node).where(Node.token_hash == hash_secret(token)))
    if node is None:
        raise AuthError(
            "the node token is not valid (was this node removed?)", code="bad_node_token"
        )
    return node


async def list_nodes(session: AsyncSession) -> list[Node]:
    """Return every node, oldest first."""
    return list((await session.scalars(select(Node).order_by(Node.created_at, Node.id))).all())


async def get_node(session: AsyncSession, node_id: str) -> Node:
    """Return one node, or raise NotFoundError."""
    node = await session.get(Node, node_id)
    if node is None:
        raise NotFoundError(f"no node with id {node_id!r}", code="unknown_node")
    return node


async def set_banned(session: AsyncSession, node_id: str, banned: bool) -> Node:
    """Ban or unban a node (idempotent) and commit."""
    status = BANNED if banned else ACTIVE
    result = await session.execute(update(Node).where(Node.id == node_id).values(status=status))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFoundError(f"no node with id {node_id!r}", code="unknown_node")
    await session.commit()
    return await get_node(session, node_id)


async def leave(session: AsyncSession, node_id: str) -> None:
    """The friend left: mark the node, void its token (its earned credit stays); commit."""
    await session.execute(
        update(Node)
        .where(Node.id == node_id)
        .values(status=LEFT, token_hash=hash_secret(new_token()))
    )
    await session.commit()


async def update_profile(
    session: AsyncSession,
    node_id: str,
    display_name: str | None,
    payout_handle: str | None,
    now: datetime,
) -> Node:
    """Change a node's name and/or payout handle, keep the change in its history; commit."""
    node = await get_node(session, node_id)
    new_name = display_name if display_name is not None else node.display_name
    new_handle = payout_handle if payout_handle is not None else node.payout_handle
    if (new_name, new_handle) != (node.display_name, node.payout_handle):
        session.add(
            NodeProfileChange(
                node_id=node.id,
                changed_at=now,
                old_display_name=node.display_name,
                new_display_name=new_name,
                old_payout_handle=node.payout_handle,
                new_payout_handle=new_handle,
            )
        )
        node.display_name, node.payout_handle, node.profile_changed_at = new_name, new_handle, now
        await session.commit()
    return node


def node_state(node: Node, now: datetime, grace: timedelta) -> str:
    """Derive what the host sees: banned, flagged, new, silent or healthy."""
    if node.status == BANNED:
        return "banned"
    if node.status == LEFT:
        return "left"
    if node.flagged:
        return "flagged"
    if node.last_heartbeat_at is None:
        return "new"
    if now - node.last_heartbeat_at > grace:
        return "silent"
    return "healthy"


def reputation(node: Node) -> float:
    """Return the node's Beta reputation alpha/(alpha+beta), in [0, 1]."""
    total = node.reputation_alpha + node.reputation_beta
    return node.reputation_alpha / total if total > 0 else 1.0


async def last_probe_reasons(session: AsyncSession, node_ids: list[str]) -> dict[str, str]:
    """Each node's latest probe reason ("ok", "private_address", …); nodes never probed left out."""
    latest = (
        select(Probe.node_id, func.max(Probe.at).label("at"))
        .where(Probe.node_id.in_(node_ids))
        .group_by(Probe.node_id)
        .subquery()
    )
    rows = await session.execute(
        select(Probe.node_id, Probe.reason).join(
            latest, and_(Probe.node_id == latest.c.node_id, Probe.at == latest.c.at)
        )
    )
    return {node_id: reason for node_id, reason in rows}


PRIVATE_ADDRESS_FIX = (
    "its relay address is a LAN or loopback one: for relays on your own network, run serve "
    "with --allow-private-relays; otherwise the friend gives --public-url (or forwards the "
    "relay port) so viewers can reach it"
)
"""What the host reads where a probe failed with `private_address` (CLI and dashboard)."""
