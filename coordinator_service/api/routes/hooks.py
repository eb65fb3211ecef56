"""SRS `http_hooks`: `POST /api/v1/hooks/srs/{secret}` marks a stream live or off-air at once.

SRS calls it on `on_publish` (OBS started) and `on_unpublish` (OBS stopped) with a JSON body
(see `services/srs_hooks.py` for its shape) and allows the publish only on HTTP 200 with
`{"code": 0}`. The secret in the path is the shared secret `streamr-coordinator hooks url` prints.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from coordinator_service.api.deps import ContextDep, WriteSessionDep, ip_limited
from coordinator_service.services.srs_hooks import HookEvent, check_hook_secret, handle_hook
from streamr_protocol.models import ErrorResponse

__all__ = ["SrsHookRequest", "SrsHookResponse", "router"]

router = APIRouter(prefix="/api/v1/hooks", tags=["hooks"], dependencies=[ip_limited])

Secret = Annotated[str, Path(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


class SrsHookRequest(BaseModel):
    """The body SRS posts; fields the coordinator does not use are accepted and ignored."""

    model_config = ConfigDict(extra="ignore", str_max_length=4096)

    action: Annotated[str, Field(max_length=64)]
    app: Annotated[str, Field(max_length=256)] = "live"
    stream: Annotated[str, Field(max_length=256)] = ""
    vhost: str = ""
    client_id: str | int | None = None
    ip: str = ""
    param: str = ""
    server_id: str = ""
    stream_url: str = ""
    stream_id: str = ""


class SrsHookResponse(BaseModel):
    """What SRS needs to go on: `code` 0."""

    code: int = 0


@router.post(
    "/srs/{secret}",
    response_model=SrsHookResponse,
    responses={
        401: {"model": ErrorResponse, "description": "wrong hook secret (SRS refuses to publish)"}
    },
)
async def srs_hook(
    secret: Secret, body: SrsHookRequest, session: WriteSessionDep, ctx: ContextDep
) -> Any:
    """Mark the stream live on `on_publish`, off-air on `on_unpublish`; ignore other actions."""
    await check_hook_secret(session, secret)
    outcome = await handle_hook(session, HookEvent(body.action, body.app, body.stream, body.param))
    if outcome.changed:
        ctx.catalog.invalidate()
    return SrsHookResponse(code=0)
