"""Node routes: join with an invite, heartbeat, and a node's view of itself."""

from ipaddress import ip_address
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import TypeAdapter

from coordinator_service.api.deps import (
    ClientIpDep,
    ContextDep,
    NodeDep,
    WriteSessionDep,
    bearer_token,
    ip_limited,
    register_limited,
)
from coordinator_service.api.routes.audits import audit_field
from coordinator_service.api.state import context
from coordinator_service.errors import AuthError, ValidationError
from coordinator_service.relay_tls.service import tls_answer_fields
from coordinator_service.services.clock import utcnow
from coordinator_service.services.heartbeats import Beat, Catalog
from coordinator_service.services.nodes import NewNode, leave, register_node, update_profile
from coordinator_service.services.pause import PAUSED_REPORT
from coordinator_service.services.tokens import hash_secret
from coordinator_service.services.views import node_status_view
from streamr_protocol.models import (
    ErrorResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    NodeProfileUpdateRequest,
    NodeRegisterRequest,
    NodeRegisterResponse,
    NodeStatusResponse,
    StreamAssignment,
    StreamReport,
    UpdateInfo,
)
from streamr_protocol.relay_url import RelayUrlError, canonical_relay_url

__all__ = ["HEARTBEAT_PATH", "router"]

router = APIRouter(prefix="/api/v1/nodes", tags=["nodes"])
HEARTBEAT_PATH = "/api/v1/nodes/heartbeat"  # served by api/fast_path.py: no dependencies here

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or wrong node token"},
    429: {"model": ErrorResponse, "description": "too many requests"},
}


def _relay_url(text: object) -> str:
    """Return the canonical relay URL, or refuse it (422) in one plain line."""
    try:
        return canonical_relay_url(str(text))
    except RelayUrlError as exc:
        raise ValidationError(str(exc), code="bad_relay_url") from exc


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
        _relay_url(body.relay_url) if body.relay_url else _default_relay_url(ip, body.relay_port)
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


@router.post(
    "/heartbeat",
    response_model=HeartbeatResponse,
    responses=_AUTH_ERRORS,
    openapi_extra={"security": [{"NodeToken": []}]},
)
async def heartbeat(body: HeartbeatRequest, request: Request) -> Response:
    """Record a beat (uptime by the coordinator's clock); answer what to relay and how often.

    The hot path: no dependencies beyond the body, and a pre-rendered answer (see benchmarks/).
    """
    ctx = context(request.app)
    token = bearer_token(request.headers.get("authorization"), "node")
    token_hash = hash_secret(token)
    await ctx.limits.hit("node", token_hash[:32])
    reported = (
        PAUSED_REPORT
        if body.paused
        else _STREAM_REPORTS.dump_json(body.streams, exclude_defaults=True).decode()
    )
    beat = Beat(
        token_hash=token_hash,
        relay_url=_relay_url(body.relay_url) if body.relay_url else None,
        viewers=body.viewers,
        bytes_served=body.bytes_served,
        capacity_kbit=body.capacity_kbit,
        version=body.version,
        streams_reported=reported[:65536],
        live_streams=() if body.paused else tuple(s.name for s in body.streams if s.live),
    )
    try:
        result = await ctx.recorder.record(beat)
    except AuthError:
        ctx.metrics.heartbeats.labels("refused").inc()
        await ctx.limits.hit("ip", request.client.host if request.client else "unknown")
        raise
    ctx.metrics.heartbeats.labels(result.state).inc()
    streams, update = _rendered(await ctx.catalog.get())
    if not body.segment_proofs:
        update = _must_update(await ctx.catalog.get(), ctx.settings.public_url)
    extra = b""  # optional answer fields: the relay certificate, peer audits to run
    if result.state != "banned":
        extra = await tls_answer_fields(
            request.app, result.node_id, beat.relay_url, body.tls_certificate_sha256
        )
        if body.audits and not body.paused:
            extra += await audit_field(ctx, result.node_id, result.at)
    answer = b'{"interval_s":%d,"streams":%s,"state":"%s","server_time":"%s","update":%s%s}' % (
        ctx.settings.heartbeat_interval,
        b"[]" if result.state == "banned" or body.paused else streams,
        result.state.encode(),
        result.at.isoformat().replace("+00:00", "Z").encode(),
        update,
        extra,
    )
    return Response(answer, media_type="application/json")


_render_cache: tuple[Catalog, bytes, bytes] | None = None


def _rendered(catalog: Catalog) -> tuple[bytes, bytes]:
    """Return the JSON of the assignments and the update info, rendered once per catalog."""
    global _render_cache
    if _render_cache is None or _render_cache[0] is not catalog:
        streams = [StreamAssignment(name=n, origin_url=o) for n, o in catalog.assignments]
        update = None
        if catalog.latest_version and catalog.download_url:
            update = UpdateInfo(version=catalog.latest_version, download_url=catalog.download_url)
        _render_cache = (
            catalog,
            _ASSIGNMENTS.dump_json(streams),
            update.model_dump_json().encode() if update else b"null",
        )
    return _render_cache[1], _render_cache[2]


_ASSIGNMENTS = TypeAdapter(list[StreamAssignment])
_STREAM_REPORTS = TypeAdapter(list[StreamReport])  # stored compact, defaults left out

# Older nodes sign a segment only when the probe names a nonce, which marks every probe; the
# coordinator no longer sends one, so their probes end `outdated` (no credit, no viewers, no
# reputation lost). Their heartbeat answer says so through the update banner they already show.
MUST_UPDATE = (
    "{version} — required: this app's relay proofs are no longer accepted, so it earns "
    "nothing and gets no viewers until you update"
)


def _must_update(catalog: Catalog, public_url: str) -> bytes:
    """Return the update info telling an older node, in plain words, that it must update."""
    info = UpdateInfo(
        version=MUST_UPDATE.format(version=catalog.latest_version or "A newer version"),
        download_url=catalog.download_url or public_url,
    )
    return info.model_dump_json().encode()


@router.get("/me", response_model=NodeStatusResponse, responses=_AUTH_ERRORS)
async def me(node: NodeDep, ctx: ContextDep) -> NodeStatusResponse:
    """The calling node's own status as the coordinator sees it."""
    return node_status_view(node, utcnow(), ctx.grace)


@router.patch("/me", response_model=NodeStatusResponse, responses=_AUTH_ERRORS)
async def patch_me(
    body: NodeProfileUpdateRequest, node: NodeDep, ctx: ContextDep, session: WriteSessionDep
) -> NodeStatusResponse:
    """Change this node's display name and/or payout handle; the host sees when it changed."""
    now = utcnow()
    updated = await update_profile(session, node.id, body.display_name, body.payout_handle, now)
    return node_status_view(updated, now, ctx.grace)


@router.post("/me/leave", status_code=status.HTTP_204_NO_CONTENT, responses=_AUTH_ERRORS)
async def leave_me(node: NodeDep, session: WriteSessionDep) -> Response:
    """The friend leaves this host: never probed or sent viewers again, the token stops
    working; what was earned stays in the ledger."""
    await leave(session, node.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
