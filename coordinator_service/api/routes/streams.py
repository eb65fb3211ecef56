"""Stream routes: the public list, and the host's create/read/update/delete."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from coordinator_service.api.deps import (
    ContextDep,
    SessionDep,
    WriteSessionDep,
    ip_limited,
    require_admin,
)
from coordinator_service.errors import AuthError
from coordinator_service.services import streams as service
from coordinator_service.services.nodes import authenticate_node
from coordinator_service.services.tokens import same_secret
from coordinator_service.services.views import stream_view
from streamr_protocol.models import (
    STREAM_NAME_PATTERN,
    ErrorResponse,
    StreamCreateRequest,
    StreamResponse,
    StreamUpdateRequest,
)

__all__ = ["admin_router", "router"]

router = APIRouter(prefix="/api/v1/streams", tags=["streams"], dependencies=[ip_limited])
admin_router = APIRouter(
    prefix="/api/v1/admin/streams",
    tags=["admin"],
    dependencies=[require_admin],
    responses={401: {"model": ErrorResponse, "description": "missing or wrong admin token"}},
)

StreamNamePath = Annotated[str, Path(pattern=STREAM_NAME_PATTERN, description="the stream's name")]
_UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such stream"}
}


@router.get("", response_model=list[StreamResponse])
async def list_public(
    session: SessionDep, ctx: ContextDep, request: Request
) -> list[StreamResponse]:
    """Every stream that is not paused; `origin_url` is "" unless a node or the host asks.

    Anyone may see the names and whether they are live; the origin URL would let anyone bypass
    the relays, so only a caller with a node token (or the admin token) gets it.
    """
    streams = await service.list_streams(session, include_paused=False)
    trusted = await _node_or_host(request, session, ctx)
    return [stream_view(s, ctx.settings.public_url, with_origin=trusted) for s in streams]


async def _node_or_host(request: Request, session: SessionDep, ctx: ContextDep) -> bool:
    """Tell whether the caller presents a valid node token or the admin token (never raises)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 256:
        return False
    if ctx.admin_token and same_secret(token, ctx.admin_token):
        return True
    try:
        await authenticate_node(session, token)
    except AuthError:
        return False
    return True


@admin_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StreamResponse,
    responses={409: {"model": ErrorResponse, "description": "the name is taken"}},
)
async def create(
    body: StreamCreateRequest, session: WriteSessionDep, ctx: ContextDep
) -> StreamResponse:
    """Add a stream."""
    stream = await service.create_stream(
        session, body.name, str(body.origin_url), body.pool_per_hour_minor, body.currency
    )
    ctx.catalog.invalidate()
    return stream_view(stream, ctx.settings.public_url)


@admin_router.get("", response_model=list[StreamResponse])
async def list_all(session: SessionDep, ctx: ContextDep) -> list[StreamResponse]:
    """Every stream, paused ones too."""
    streams = await service.list_streams(session)
    return [stream_view(s, ctx.settings.public_url) for s in streams]


@admin_router.get("/{name}", response_model=StreamResponse, responses=_UNKNOWN)
async def get(name: StreamNamePath, session: SessionDep, ctx: ContextDep) -> StreamResponse:
    """One stream."""
    return stream_view(await service.get_stream(session, name), ctx.settings.public_url)


@admin_router.patch("/{name}", response_model=StreamResponse, responses=_UNKNOWN)
async def update(
    name: StreamNamePath, body: StreamUpdateRequest, session: WriteSessionDep, ctx: ContextDep
) -> StreamResponse:
    """Change a stream's origin, pool, currency or paused flag."""
    changes = service.StreamChanges(
        origin_url=str(body.origin_url) if body.origin_url is not None else None,
        pool_per_hour_minor=body.pool_per_hour_minor,
        currency=body.currency,
        paused=body.paused,
    )
    stream = await service.update_stream(session, name, changes)
    ctx.catalog.invalidate()
    return stream_view(stream, ctx.settings.public_url)


@admin_router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={**_UNKNOWN, 409: {"model": ErrorResponse, "description": "payouts refer to it"}},
)
async def delete(name: StreamNamePath, session: WriteSessionDep, ctx: ContextDep) -> Response:
    """Remove a stream (refused while payouts refer to it)."""
    await service.delete_stream(session, name)
    ctx.catalog.invalidate()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
