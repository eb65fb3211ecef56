"""`POST /api/v1/watch/reports`: viewers' per-segment beacons, bound to a report token."""

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from coordinator_service.api.deps import ClientIpDep, ContextDep, ip_limited
from coordinator_service.api.state import AppContext
from coordinator_service.errors import AuthError, NotFoundError, ValidationError
from coordinator_service.prober.viewer_reports import (
    ORIGIN,
    ViewerBatch,
    issue_report_token,
    report_secret,
    store_tallies,
    tally_reports,
    verify_report_token,
    viewer_address,
)
from coordinator_service.services.clock import utcnow
from coordinator_service.storage.models import Stream
from streamr_protocol.models import ErrorResponse

__all__ = [
    "ViewerReportBatch",
    "ViewerReportsAccepted",
    "app_report_secret",
    "router",
    "watch_token",
]

MAX_REPORTS: Final = 120

router = APIRouter(prefix="/api/v1/watch", tags=["viewers"], dependencies=[ip_limited])


class SegmentReport(BaseModel):
    """How one segment load went for the viewer."""

    model_config = ConfigDict(extra="ignore")

    pathway: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    uri: Annotated[str, Field(max_length=2048)] = ""
    ok: bool
    bytes: Annotated[int, Field(ge=0, le=1 << 31)] = 0
    ms: Annotated[int, Field(ge=0, le=600_000)] = 0


class ViewerReportBatch(BaseModel):
    """A batch of segment reports with the token from the watch playlist."""

    token: Annotated[str, Field(min_length=1, max_length=4096)]
    reports: Annotated[list[SegmentReport], Field(min_length=1, max_length=MAX_REPORTS)]


class ViewerReportsAccepted(BaseModel):
    """The batch was stored; `token` is a fresh token to use for the next batches."""

    accepted: int
    token: str


async def app_report_secret(ctx: AppContext) -> bytes:
    """Return the report secret of this app (stored once in app settings, then cached)."""
    if not ctx.report_secret:
        async with ctx.db.transaction() as session:
            ctx.report_secret = await report_secret(session)
    return ctx.report_secret


async def watch_token(ctx: AppContext, stream: str, node_ids: Sequence[str], now: datetime) -> str:
    """Return a report token for a viewer offered `node_ids` of `stream` (for the playlist)."""
    return issue_report_token(await app_report_secret(ctx), stream, node_ids, now)


@router.post(
    "/reports",
    status_code=202,
    response_model=ViewerReportsAccepted,
    responses={
        401: {"model": ErrorResponse, "description": "missing, forged or expired token"},
        404: {"model": ErrorResponse, "description": "the token's stream no longer exists"},
        422: {"model": ErrorResponse, "description": "a report names a pathway the token lacks"},
        429: {"model": ErrorResponse, "description": "too many reports from this address"},
    },
)
async def post_reports(
    batch: ViewerReportBatch, ctx: ContextDep, ip: ClientIpDep
) -> ViewerReportsAccepted:
    """Store a viewer's segment outcomes per relay; only relays named in the token count."""
    await ctx.limits.hit("report", ip)
    now = utcnow()
    grant = verify_report_token(await app_report_secret(ctx), batch.token, now)
    if grant is None:
        raise AuthError(
            "the report token is not valid or has expired; reload the watch page",
            code="bad_report_token",
        )
    allowed = set(grant.node_ids) | {ORIGIN}
    unknown = sorted({r.pathway for r in batch.reports} - allowed)
    if unknown:
        raise ValidationError(
            f"the token does not cover pathway {unknown[0]!r}", code="pathway_not_granted"
        )
    tallies = tally_reports((r.pathway, r.ok, r.bytes, r.ms) for r in batch.reports)
    async with ctx.db.transaction() as session:
        stream_id = await session.scalar(select(Stream.id).where(Stream.name == grant.stream))
        if stream_id is None:
            raise NotFoundError(f"there is no stream named {grant.stream!r}", code="unknown_stream")
        mine = ViewerBatch(viewer_address(ip), grant.viewer, tallies)
        await store_tallies(session, stream_id, [mine], now)
        await session.commit()
    fresh = issue_report_token(
        ctx.report_secret, grant.stream, grant.node_ids, now, viewer=grant.viewer
    )
    return ViewerReportsAccepted(accepted=len(batch.reports), token=fresh)
