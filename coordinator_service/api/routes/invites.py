"""Invite routes for the host: create (the link is shown once), list, revoke."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, status

from coordinator_service.api.deps import ContextDep, SessionDep, WriteSessionDep, require_admin
from coordinator_service.services import invites as service
from coordinator_service.services.views import invite_view
from streamr_protocol.invite import format_invite_link
from streamr_protocol.models import (
    ErrorResponse,
    InviteCreatedResponse,
    InviteCreateRequest,
    InviteResponse,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/api/v1/admin/invites",
    tags=["admin"],
    dependencies=[require_admin],
    responses={401: {"model": ErrorResponse, "description": "missing or wrong admin token"}},
)

InviteIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=InviteCreatedResponse)
async def create(
    body: InviteCreateRequest, session: WriteSessionDep, ctx: ContextDep
) -> InviteCreatedResponse:
    """Create an invite; its link (with the code) is shown only in this answer."""
    expires_in = timedelta(seconds=body.expires_in_s) if body.expires_in_s is not None else None
    created = await service.create_invite(
        session, uses=body.uses, expires_in=expires_in, note=body.note
    )
    view = invite_view(created.invite)
    return InviteCreatedResponse(
        **view.model_dump(),
        link=format_invite_link(ctx.settings.public_url, created.code),
        code=created.code,
    )


@router.get("", response_model=list[InviteResponse])
async def list_all(session: SessionDep) -> list[InviteResponse]:
    """Every invite, newest first (codes are never shown again)."""
    return [invite_view(i) for i in await service.list_invites(session)]


@router.post(
    "/{invite_id}/revoke",
    response_model=InviteResponse,
    responses={404: {"model": ErrorResponse, "description": "no such invite"}},
)
async def revoke(invite_id: InviteIdPath, session: WriteSessionDep) -> InviteResponse:
    """Revoke an invite so nobody can join with it any more (idempotent)."""
    return invite_view(await service.revoke_invite(session, invite_id))
