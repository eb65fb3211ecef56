"""ORM rows to wire models, shared by the API and the admin CLI."""

from datetime import datetime, timedelta

from coordinator_service.services.nodes import node_state, reputation
from coordinator_service.storage.models import Invite, Node, Stream
from streamr_protocol.models import (
    AdminNodeResponse,
    InviteResponse,
    NodeStatusResponse,
    StreamResponse,
)

__all__ = ["admin_node_view", "invite_view", "node_status_view", "stream_view", "watch_url"]


def watch_url(public_url: str, name: str) -> str:
    """Return where viewers watch a stream."""
    return f"{public_url.rstrip('/')}/watch/{name}.m3u8"


def stream_view(stream: Stream, public_url: str, *, with_origin: bool = True) -> StreamResponse:
    """Describe a stream on the wire; the origin URL only to nodes and the host (else "")."""
    return StreamResponse(
        name=stream.name,
        origin_url=stream.origin_url if with_origin else "",
        pool_per_hour_minor=stream.pool_per_hour_minor,
        currency=stream.currency,
        live=stream.live,
        paused=stream.paused,
        watch_url=watch_url(public_url, stream.name),
    )


def invite_view(invite: Invite) -> InviteResponse:
    """Describe an invite (never its code)."""
    return InviteResponse(
        id=invite.id,
        uses_left=invite.uses_left,
        max_uses=invite.max_uses,
        expires_at=invite.expires_at,
        revoked=invite.revoked_at is not None,
        created_at=invite.created_at,
        note=invite.note,
    )


def admin_node_view(node: Node, now: datetime, grace: timedelta) -> AdminNodeResponse:
    """Describe a node to the host."""
    return AdminNodeResponse(
        node_id=node.id,
        display_name=node.display_name,
        payout_handle=node.payout_handle,
        state=node_state(node, now, grace),
        reputation=round(reputation(node), 4),
        relay_url=node.relay_url,
        last_heartbeat_at=node.last_heartbeat_at,
        viewers=node.viewers,
        capacity_kbit=node.capacity_kbit,
        bytes_served=node.bytes_served,
        version=node.version,
        invite_id=node.invite_id,
        created_at=node.created_at,
        profile_changed_at=node.profile_changed_at,
    )


def node_status_view(node: Node, now: datetime, grace: timedelta) -> NodeStatusResponse:
    """Describe a node to itself."""
    return NodeStatusResponse(
        node_id=node.id,
        display_name=node.display_name,
        payout_handle=node.payout_handle,
        state=node_state(node, now, grace),
        reputation=round(reputation(node), 4),
        relay_url=node.relay_url,
        last_heartbeat_at=node.last_heartbeat_at,
        created_at=node.created_at,
        profile_changed_at=node.profile_changed_at,
    )
