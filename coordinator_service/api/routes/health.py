"""Operational routes: `/healthz` (database reachable) and `/metrics` (Prometheus text)."""

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from coordinator_service.api.deps import ContextDep, SessionDep
from coordinator_service.errors import AuthError
from coordinator_service.services.clock import utcnow
from coordinator_service.services.tokens import same_secret
from coordinator_service.storage.models import Node

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses={503: {"description": "the database does not answer"}})
async def healthz(ctx: ContextDep) -> JSONResponse:
    """Answer 200 when the database answers, 503 otherwise."""
    if await ctx.db.ping():
        return JSONResponse({"status": "ok"})
    return JSONResponse(
        {"error": {"code": "database_unreachable", "message": "the database does not answer"}},
        status_code=503,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={401: {"description": "--metrics-token is set and the bearer token is not it"}},
)
async def metrics(ctx: ContextDep, session: SessionDep, request: Request) -> Response:
    """Prometheus metrics: requests, latencies, heartbeats, live nodes.

    Open unless the host set `--metrics-token`; then only `Authorization: Bearer TOKEN`.
    """
    expected = ctx.settings.metrics_token
    if expected:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not same_secret(given.strip(), expected):
            await ctx.limits.hit("ip", request.client.host if request.client else "unknown")
            raise AuthError(
                "/metrics needs 'Authorization: Bearer METRICS_TOKEN'", code="bad_metrics_token"
            )
    cutoff = utcnow() - timedelta(seconds=ctx.settings.grace_seconds)
    live = await session.scalar(
        select(func.count())
        .select_from(Node)
        .where(Node.last_heartbeat_at >= cutoff, Node.status != "banned")
    )
    ctx.metrics.live_nodes.set(live or 0)
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
