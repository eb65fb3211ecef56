"""Host routes for nodes (list, ban, unban) and the update announcement."""

from typing import Annotated, Any

from fastapi import APIRouter, Path

from coordinator_service.api.deps import ContextDep, SessionDep, WriteSessionDep, require_admin
from coordinator_service.services import nodes as service
from coordinator_service.services.app_settings import DOWNLOAD_URL, LATEST_VERSION, put_settings
from coordinator_service.services.clock import utcnow
from coordinator_service.services.views import admin_node_view
from streamr_protocol.models import (
    AdminNodeResponse,
    ErrorResponse,
    UpdateAnnounceRequest,
    UpdateInfo,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    dependencies=[require_admin],
    responses={401: {"model": ErrorResponse, "description": "missing or wrong admin token"}},
)

NodeIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
_UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such node"}
}


@router.get("/nodes", response_model=list[AdminNodeResponse])
async def list_nodes(session: SessionDep, ctx: ContextDep) -> list[AdminNodeResponse]:
    """Every node with its derived state and reputation."""
    now = utcnow()
    return [admin_node_view(n, now, ctx.grace) for n in await service.list_nodes(session)]


@router.post("/nodes/{node_id}/ban", response_model=AdminNodeResponse, responses=_UNKNOWN)
async def ban(node_id: NodeIdPath, session: WriteSessionDep, ctx: ContextDep) -> AdminNodeResponse:
    """Ban a node: it gets no streams, no viewers and earns nothing (idempotent)."""
    node = await service.set_banned(session, node_id, True)
    return admin_node_view(node, utcnow(), ctx.grace)


@router.post("/nodes/{node_id}/unban", response_model=AdminNodeResponse, responses=_UNKNOWN)
async def unban(
    node_id: NodeIdPath, session: WriteSessionDep, ctx: ContextDep
) -> AdminNodeResponse:
    """Lift a ban (idempotent)."""
    node = await service.set_banned(session, node_id, False)
    return admin_node_view(node, utcnow(), ctx.grace)


@router.put("/settings/update", response_model=UpdateInfo)
async def announce_update(
    body: UpdateAnnounceRequest, session: WriteSessionDep, ctx: ContextDep
) -> UpdateInfo:
    """Announce the newest app version; nodes see it in their heartbeat answers."""
    url = str(body.download_url)
    await put_settings(session, {LATEST_VERSION: body.version, DOWNLOAD_URL: url})
    ctx.catalog.invalidate()
    return UpdateInfo(version=body.version, download_url=url)
