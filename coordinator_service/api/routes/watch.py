"""Viewer entry points: the watch playlist, its steering manifest, and the legacy redirect.

- `GET /watch/{stream}.m3u8`: a multivariant playlist of the stream's variants through up to
  `WANTED_RELAYS` relays picked for this viewer (weighted by spare capacity) and the origin
  last, as HLS Content Steering pathways (see `prober/steering.py`).
  It carries the viewer's report token (`#EXT-X-SESSION-DATA`, DATA-ID
  `org.streamrp2p.report-token`) naming the relays offered, for the watch page's beacons.
- `GET /watch/{stream}/steering.json`: the steering manifest that playlist names; it re-ranks
  the viewer's pathways as relays come and go.
- `GET /watch/{stream}/relay.m3u8`: the old single-relay redirect, for clients that want one
  URL of one relay (302 to a relay's playlist, or to the origin when none is eligible).

`?secure=1` (the watch page sends it when opened over https://), or a request that arrived over
HTTPS, offers only https pathways: a browser blocks http:// media on an https:// page.

Players known to do neither steering nor failover (ffmpeg's HLS demuxer in ffplay and mpv:
`Lavf/…`, `libmpv`; VLC) get the first pathway only: ffmpeg opens the first segments of every
variant it is offered, so a full list would cost every relay and the origin a download at start.
"""

import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from coordinator_service.api.deps import ContextDep, SessionDep, ip_limited
from coordinator_service.api.routes.watch_reports import app_report_secret
from coordinator_service.api.state import AppContext
from coordinator_service.errors import ConflictError
from coordinator_service.prober.routing import (
    RelayCandidate,
    eligible_relays,
    pick_pathways,
    watch_target,
)
from coordinator_service.prober.steering import (
    ORIGIN,
    Pathway,
    WatchVariant,
    pathway_list,
    render_watch_playlist,
    steering_manifest,
    watch_variants,
)
from coordinator_service.prober.viewer_reports import issue_report_token
from coordinator_service.services.clock import utcnow
from coordinator_service.storage.models import Stream
from streamr_protocol.models import ErrorResponse

__all__ = ["WANTED_RELAYS", "router"]

router = APIRouter(tags=["viewers"], dependencies=[ip_limited])

WANTED_RELAYS = 3
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
NO_STORE = {"Cache-Control": "no-store"}
_PATHWAY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_NO_STEERING = re.compile(r"^(Lavf/|libmpv|mpv |VLC/|LibVLC/)", re.IGNORECASE)
StreamName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _secure(request: Request, secure: bool) -> bool:
    return secure or request.url.scheme == "https"


def _https_only(candidates: list[RelayCandidate]) -> list[RelayCandidate]:
    return [c for c in candidates if c.relay_url.startswith("https://")]


def _origin_usable(stream: Stream, secure: bool) -> bool:
    return not secure or stream.origin_url.lower().startswith("https://")


def _variants(ctx: AppContext, stream: Stream) -> list[WatchVariant]:
    index = ctx.origins.get(stream.name)
    return watch_variants(stream.name, stream.origin_url, index.variants if index else ())


@router.get(
    "/watch/{stream}.m3u8",
    response_class=Response,
    responses={
        200: {"content": {PLAYLIST_TYPE: {}}, "description": "the viewer's multivariant playlist"},
        404: {"model": ErrorResponse, "description": "unknown stream"},
        409: {"model": ErrorResponse, "description": "secure=1 but no https pathway exists"},
    },
)
async def watch(
    stream: StreamName,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    secure: Annotated[bool, Query(description="offer only https:// pathways")] = False,
) -> Response:
    """Offer the stream through relays picked for this viewer, the origin last."""
    secure = _secure(request, secure)
    found, candidates = await eligible_relays(session, stream, utcnow(), ctx.grace)
    if secure:
        candidates = _https_only(candidates)
    pathways = [Pathway(c.node_id, c.relay_url) for c in pick_pathways(candidates, WANTED_RELAYS)]
    if _origin_usable(found, secure):
        pathways.append(Pathway(ORIGIN))
    if _NO_STEERING.match(request.headers.get("user-agent", "")):
        pathways = pathways[:1]
    if not pathways:
        raise ConflictError(
            "this stream has no https:// relay or origin yet; open the watch page over http://",
            code="no_https_pathway",
        )
    variants = _variants(ctx, found)
    viewer = secrets.token_urlsafe(12)
    query = {"v": viewer, "p": pathway_list(pathways)}
    if secure:
        query["secure"] = "1"
    steering = request.url_for("steering", stream=found.name).include_query_params(**query)
    relays = [p.id for p in pathways if p.base is not None]
    secret = await app_report_secret(ctx)
    token = issue_report_token(secret, found.name, relays, utcnow(), viewer=viewer)
    text = render_watch_playlist(variants, pathways, f"{steering.path}?{steering.query}", token)
    ctx.metrics.audience.served(found.name, viewer, pathways[0].id)
    return Response(text, media_type=PLAYLIST_TYPE, headers=NO_STORE)


@router.get(
    "/watch/{stream}/steering.json",
    name="steering",
    responses={404: {"model": ErrorResponse, "description": "unknown stream"}},
)
async def steering(
    stream: StreamName,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    v: Annotated[str, Query(max_length=64, description="the viewer's id")] = "",
    p: Annotated[str, Query(max_length=2048, description="the viewer's pathway ids")] = "",
    secure: bool = False,
    current: Annotated[str, Query(alias="_HLS_pathway", max_length=64)] = "",
) -> JSONResponse:
    """Rank the viewer's pathways: still-eligible relays in order, new ones cloned in, origin."""
    secure = _secure(request, secure)
    found, candidates = await eligible_relays(session, stream, utcnow(), ctx.grace)
    if secure:
        candidates = _https_only(candidates)
    listed = [i for i in p.split(",")[:32] if _PATHWAY_ID.match(i)]
    extra = pick_pathways([c for c in candidates if c.node_id not in listed], WANTED_RELAYS)
    query = {"v": v, **({"secure": "1"} if secure else {})}
    reload_uri = request.url_for("steering", stream=found.name).include_query_params(**query)
    manifest = steering_manifest(
        listed,
        {c.node_id for c in candidates},
        extra,
        _variants(ctx, found),
        WANTED_RELAYS,
        f"{reload_uri.path}?{reload_uri.query}",
    )
    if v and _PATHWAY_ID.match(current):
        ctx.metrics.audience.saw(found.name, v, current)
    return JSONResponse(manifest, headers=NO_STORE)


@router.get(
    "/watch/{stream}/relay.m3u8",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {"description": "redirect to a node's playlist, or the origin's"},
        404: {"model": ErrorResponse, "description": "unknown stream"},
    },
)
async def watch_relay(stream: StreamName, session: SessionDep, ctx: ContextDep) -> RedirectResponse:
    """Redirect to one healthy node weighted by spare capacity (its scheme, host, port only)."""
    target = await watch_target(session, stream, utcnow(), ctx.grace)
    return RedirectResponse(target, status_code=302, headers=NO_STORE)
