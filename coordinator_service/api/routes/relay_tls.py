"""`POST /api/v1/nodes/me/tls`: a node's CSR for its name under the relay domain."""

from fastapi import APIRouter, Request, status

from coordinator_service.api.deps import NodeDep, WriteSessionDep
from coordinator_service.errors import ConflictError
from coordinator_service.relay_tls.csr import check_csr
from coordinator_service.relay_tls.service import relay_tls_of
from coordinator_service.relay_tls.store import submit_csr
from coordinator_service.services.clock import utcnow
from coordinator_service.services.nodes import BANNED
from streamr_protocol.models import ErrorResponse, RelayCsrRequest, RelayCsrResponse

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/nodes", tags=["nodes"])


@router.post(
    "/me/tls",
    response_model=RelayCsrResponse,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        401: {"model": ErrorResponse, "description": "missing or wrong node token"},
        409: {"model": ErrorResponse, "description": "no relay domain or name; node banned"},
        422: {"model": ErrorResponse, "description": "the CSR is not for this node's name"},
    },
    openapi_extra={"security": [{"NodeToken": []}]},
)
async def request_certificate(
    body: RelayCsrRequest, node: NodeDep, session: WriteSessionDep, request: Request
) -> RelayCsrResponse:
    """Take the node's CSR for its relay name; the chain comes back in a heartbeat answer."""
    tls = relay_tls_of(request.app)
    if tls is None:
        raise ConflictError(
            "this coordinator has no relay domain: relays stay on plain HTTP", code="no_relay_tls"
        )
    if node.status == BANNED:
        raise ConflictError("the host has banned this node", code="node_banned")
    name = tls.name_for(node.id, node.relay_url)
    if name is None:
        raise ConflictError(
            "this relay's address gets no name under the relay domain (use --tls-cert)",
            code="no_relay_tls",
        )
    csr = check_csr(body.csr, name)
    issued = await submit_csr(session, node.id, name, csr, utcnow())
    if not issued:
        tls.wake.set()
    return RelayCsrResponse(name=name, status="issued" if issued else "pending")
