"""Public pages: `/watch/{stream}` (a player through `/watch/{stream}.m3u8`) and who relays it."""

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from coordinator_service.dashboard import queries
from coordinator_service.dashboard.board import cached_board
from coordinator_service.dashboard.web import HERE, DbDep, EnvDep, SecureRoute, render
from coordinator_service.storage.models import Stream
from streamr_protocol.models import STREAM_NAME_PATTERN, ErrorResponse

router = APIRouter(route_class=SecureRoute, include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["watch"])

_NAME = re.compile(STREAM_NAME_PATTERN)

# The player fetches playlists and segments from friends' relays (any http(s) origin) and
# hls.js transmuxes in a blob: worker; everything else stays same-origin.
WATCH_CSP = (
    "default-src 'self'; media-src 'self' blob: http: https:; connect-src 'self' http: https:; "
    "worker-src 'self' blob:; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def hls_vendored() -> bool:
    """Tell whether the build step put hls.js into static/vendor/."""
    return (HERE / "static" / "vendor" / "hls.min.js").is_file()


@router.get("/watch/{stream}")
async def watch_page(request: Request, stream: str, env: EnvDep, db: DbDep) -> Response:
    """Show the player for a stream, who relays it, and thanks to its supporters."""
    found = None
    if _NAME.match(stream):
        found = await db.scalar(select(Stream).where(Stream.name == stream))
    if found is None:
        return render(request, "not_found.html", {"what": "stream"}, status_code=404)
    names, count = await queries.supporters_now(db, found.id, queries.utcnow(), env.silent_after_s)
    response = render(
        request,
        "watch.html",
        {"stream": found, "names": names, "count": count, "hls_vendored": hls_vendored()},
    )
    response.headers["content-security-policy"] = WATCH_CSP
    return response


@router.get("/leaderboard")
async def leaderboard_page(request: Request, db: DbDep, env: EnvDep) -> Response:
    """Show each stream's supporters this period: credited time and earnings so far."""
    board = await cached_board(db, queries.utcnow(), env.board)
    return render(request, "leaderboard.html", {"board": board})


class WatchNodeResponse(BaseModel):
    """Who serves a playlist URL a player was sent to."""

    stream: str
    relayed_by: str | None = Field(description="the friend's display name; null: not a relay")
    origin: bool = Field(description="the URL is the streamer's own origin")


@api_router.get(
    "/watch/{stream}/node",
    response_model=WatchNodeResponse,
    responses={404: {"model": ErrorResponse, "description": "unknown stream"}},
)
async def watch_node(
    stream: str, db: DbDep, url: Annotated[str, Query(max_length=4096)] = ""
) -> JSONResponse:
    """Say which friend's node serves a playlist URL the player was redirected to."""
    found = None
    if _NAME.match(stream):
        found = await db.scalar(select(Stream).where(Stream.name == stream))
    if found is None:
        return JSONResponse(
            {"error": {"code": "unknown_stream", "message": f"there is no stream {stream!r}"}},
            status_code=404,
        )
    owner = await queries.relay_owner(db, url) if url else None
    origin = bool(url) and url.split("?")[0] == found.origin_url.split("?")[0]
    name = None if owner is None else ("a friend" if owner[1] else owner[0])
    return JSONResponse({"stream": found.name, "relayed_by": name, "origin": origin})
