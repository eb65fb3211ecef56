"""Peer audits over the node API: assignments in the heartbeat answer, reports posted back."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import TypeAdapter
from sqlalchemy import select

from coordinator_service.api.deps import ClientIpDep, ContextDep, WriteSessionDep, bearer_token
from coordinator_service.api.state import AppContext
from coordinator_service.errors import AuthError
from coordinator_service.prober.audits import AUDIT_TTL, REPORTED, pending_assignments
from coordinator_service.services.clock import utcnow
from coordinator_service.services.nodes import authenticate_node
from coordinator_service.services.tokens import hash_secret
from coordinator_service.storage.models import PeerAudit
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
    now = utcnow()
    ids = [r.id for r in body.reports]
    audits = {
        a.id: a
        for a in (
            await session.scalars(
                select(PeerAudit).where(
                    PeerAudit.id.in_(ids),
                    PeerAudit.auditor_id == node.id,
                    PeerAudit.reported_at.is_(None),
                    PeerAudit.expires_at > now - AUDIT_TTL / 4,
                )
            )
        ).all()
    }
    for report in body.reports:
        audit = audits.get(report.id)
        if audit is None:
            continue
        audit.reported_at = now
        audit.status = report.status
        audit.bytes = report.bytes
        audit.sha256 = report.sha256
        audit.ttfb_ms = report.ttfb_ms
        audit.total_ms = report.total_ms
        audit.reason = (REPORTED + report.error)[:32]
    await session.commit()
    return AuditReportsAccepted(accepted=len(audits))
