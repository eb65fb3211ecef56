"""Node routes: join with an invite, heartbeat, and a node's view of itself."""

import json
from ipaddress import ip_address
from typing import Any

from fastapi import APIRouter, status

from coordinator_service.api.deps import (
    ClientIpDep,
    ContextDep,
    NodeDep,
    NodeTokenDep,
    WriteSessionDep,
    ip_limited,
    register_limited,
)
from coordinator_service.errors import AuthError, ValidationError
from coordinator_service.services.clock import utcnow
from coordinator_service.services.heartbeats import Beat
from coordinator_service.services.nodes import NewNode, register_node
from coordinator_service.services.tokens import hash_secret
from coordinator_service.services.views import node_status_view
from streamr_protocol.models import (
    ErrorResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    NodeRegisterRequest,
    NodeRegisterResponse,
    NodeStatusResponse,
    StreamAssignment,
    UpdateInfo,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/nodes", tags=["nodes"])

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or wrong node token"},
    429: {"model": ErrorResponse, "description": "too many requests"},
}


def _default_relay_url(ip: str, port: int | None) -> str:
    if port is None:
        raise ValidationError(
            "give relay_url, or relay_port so the coordinator can use your address"
        )
    try:
        host = ip_address(ip)
    except ValueError as exc:
        raise ValidationError("cannot tell your address; give relay_url") from exc
    return f"http://[{host}]:{port}" if host.version == 6 else f"http://{host}:{port}"


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=NodeRegisterResponse,
    dependencies=[ip_limited, register_limited],
    responses={
        403: {"model": ErrorResponse, "description": "invite revoked"},
        404: {"model": ErrorResponse, "description": "invite code not valid"},
        409: {"model": ErrorResponse, "description": "invite used up"},
        410: {"model": ErrorResponse, "description": "invite expired"},
        429: {"model": ErrorResponse, "description": "too many requests"},
    },
)
async def register(
    body: NodeRegisterRequest, ctx: ContextDep, session: WriteSessionDep, ip: ClientIpDep
) -> NodeRegisterResponse:
    """Join with an invite; the token and probe key are shown only in this answer."""
    relay_url = (
        str(body.relay_url).rstrip("/")
        if body.relay_url
        else _default_relay_url(ip, body.relay_port)
    )
    registration = await register_node(
        session,
        body.invite_code,
        NewNode(
            display_name=body.display_name,
            payout_handle=body.payout_handle,
            relay_url=relay_url,
            capacity_kbit=body.capacity_kbit,
            anonymous=body.anonymous,
            version=body.version,
            registered_ip=ip,
        ),
    )
    return NodeRegisterResponse(
        node_id=registration.node.id,
        node_token=registration.token,
        probe_key=registration.probe_key,
        relay_url=relay_url,
        heartbeat_interval_s=ctx.settings.heartbeat_interval,
    )


@router.post("/heartbeat", response_model=HeartbeatResponse, responses=_AUTH_ERRORS)
async def heartbeat(
    body: HeartbeatRequest, token: NodeTokenDep, ctx: ContextDep, ip: ClientIpDep
) -> HeartbeatResponse:
    """Record a beat (uptime by the coordinator's clock); answer what to relay and how often."""
    reported = json.dumps(
        [s.model_dump(exclude_defaults=True) for s in body.streams], separators=(",", ":")
    )
    beat = Beat(
        token_hash=hash_secret(token),
        relay_url=str(body.relay_url).rstrip("/") if body.relay_url else None,
        viewers=body.viewers,
        bytes_served=body.bytes_served,
        capacity_kbit=body.capacity_kbit,
        version=body.version,
        streams_reported=reported[:65536],
        live_streams=tuple(s.name for s in body.streams if s.live),
    )
    try:
        result = await ctx.recorder.record(beat)
    except AuthError:
        ctx.metrics.heartbeats.labels("refused").inc()
        await ctx.limits.hit("ip", ip)
        raise
    ctx.metrics.heartbeats.labels(result.state).inc()
    catalog = await ctx.catalog.get()
    update = None
    if catalog.latest_version and catalog.download_url:
        update = UpdateInfo(version=catalog.latest_version, download_url=catalog.download_url)
    streams = (
        []
        if result.state == "banned"
        else [
            StreamAssignment(name=name, origin_url=origin) for name, origin in catalog.assignments
        ]
    )
    return HeartbeatResponse(
        interval_s=ctx.settings.heartbeat_interval,
        streams=streams,
        state=result.state,
        server_time=result.at,
        update=update,
    )


@router.get("/me", response_model=NodeStatusResponse, responses=_AUTH_ERRORS)
async def me(node: NodeDep, ctx: ContextDep) -> NodeStatusResponse:
    """The calling node's own status as the coordinator sees it."""
    return node_status_view(node, utcnow(), ctx.grace)
