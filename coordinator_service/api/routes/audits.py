"""Peer audits over the node API: assignments in the heartbeat answer, reports posted back."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import TypeAdapter

from coordinator_service.api.deps import ClientIpDep, ContextDep, WriteSessionDep, bearer_token
from coordinator_service.api.state import AppContext
from coordinator_service.errors import AuthError
from coordinator_service.prober.audits import pending_assignments, record_reports
from coordinator_service.services.clock import utcnow
from coordinator_service.services.nodes import authenticate_node
from coordinator_service.services.tokens import hash_secret
from streamr_protocol.models import (
    AuditAssignment,
    AuditReportBatch,
    AuditReportsAccepted,
    ErrorResponse,
)

__all__ = ["audit_field", "router"]

router = APIRouter(prefix="/api/v1/nodes", tags=["nodes"])

_ASSIGNMENTS = TypeAdapter(list[AuditAssignment])


async def audit_field(ctx: AppContext, node_id: str, now: datetime) -> bytes:
    """Return `,"audits":[…]` for a heartbeat answer: the node's pending audit assignments."""
    ctx.auditors[node_id] = now
    async with ctx.db.session() as session:
        pending = await pending_assignments(session, node_id, now)
    assignments = [AuditAssignment(id=i, url=u, expires_at=e) for i, u, e in pending]
    return b',"audits":' + _ASSIGNMENTS.dump_json(assignments)


@router.post(
    "/audits",
    response_model=AuditReportsAccepted,
    responses={401: {"model": ErrorResponse, "description": "missing or wrong node token"}},
    openapi_extra={"security": [{"NodeToken": []}]},
)
async def post_audits(
    body: AuditReportBatch,
    session: WriteSessionDep,
    ctx: ContextDep,
    ip: ClientIpDep,
    authorization: Annotated[str | None, Header()] = None,
) -> AuditReportsAccepted:
    """Store what this node got auditing others; reports of audits it was not given are ignored."""
    token = bearer_token(authorization, "node")
    await ctx.limits.hit("audit", hash_secret(token)[:32])
    try:
        node = await authenticate_node(session, token)
    except AuthError:
        await ctx.limits.hit("ip", ip)
        raise
    accepted = await record_reports(session, node.id, body.reports, utcnow())
    await session.commit()
    return AuditReportsAccepted(accepted=accepted)
