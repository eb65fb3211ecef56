"""`GET /watch/{stream}.m3u8` and `/watch/{stream}/relay.m3u8`: send a viewer to a healthy node."""

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import RedirectResponse

from coordinator_service.api.deps import ContextDep, SessionDep, ip_limited
from coordinator_service.prober.routing import watch_target
from coordinator_service.services.clock import utcnow
from streamr_protocol.models import ErrorResponse

__all__ = ["router"]

router = APIRouter(tags=["viewers"], dependencies=[ip_limited])


@router.get(
    "/watch/{stream}/relay.m3u8",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {"description": "redirect to a node's playlist, or the origin's"},
        404: {"model": ErrorResponse, "description": "unknown stream"},
    },
)
async def watch(
    stream: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    session: SessionDep,
    ctx: ContextDep,
) -> RedirectResponse:
    """Redirect to a healthy node weighted by spare capacity; never a flagged or silent one."""
    target = await watch_target(session, stream, utcnow(), ctx.grace)
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


router.add_api_route(
    "/watch/{stream}.m3u8",
    watch,
    status_code=302,
    response_class=RedirectResponse,
    responses={404: {"model": ErrorResponse, "description": "unknown stream"}},
    include_in_schema=False,
)
