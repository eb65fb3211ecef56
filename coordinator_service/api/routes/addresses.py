"""Host routes for nodes credited from one address: list the groups, approve, keep one, withdraw."""

from typing import Any

from fastapi import APIRouter, status

from coordinator_service.api.deps import SessionDep, WriteSessionDep, require_admin
from coordinator_service.ledger import shared_addresses as service
from coordinator_service.services.clock import utcnow
from streamr_protocol.models import (
    AddressApproveRequest,
    AddressDecisionRequest,
    ErrorResponse,
    SharedAddressNode,
    SharedAddressResponse,
)

__all__ = ["router", "shared_address_response"]

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    dependencies=[require_admin],
    responses={401: {"model": ErrorResponse, "description": "missing or wrong admin token"}},
)

_UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "unknown stream, or no nodes share the address"},
    422: {"model": ErrorResponse, "description": "not an address"},
}


def shared_address_response(group: service.SharedAddress) -> SharedAddressResponse:
    """Return the wire view of a group of nodes from one address."""
    return SharedAddressResponse(
        stream=group.stream_name,
        address=group.address,
        addresses=group.keys,
        state=group.state,
        max_nodes=group.max_nodes,
        approved_at=group.approved_at,
        nodes=[
            SharedAddressNode(node_id=n.node_id, display_name=n.display_name, credited=n.credited)
            for n in group.nodes
        ],
    )


@router.get("/addresses", response_model=list[SharedAddressResponse])
async def list_shared_addresses(session: SessionDep) -> list[SharedAddressResponse]:
    """Nodes credited from one address per stream in the last day, and the host's decisions."""
    return [shared_address_response(g) for g in await service.shared_addresses(session, utcnow())]


@router.post("/addresses/approve", response_model=SharedAddressResponse, responses=_UNKNOWN)
async def approve(body: AddressApproveRequest, session: WriteSessionDep) -> SharedAddressResponse:
    """Let up to `max_nodes` (default: all) nodes at an address earn on a stream."""
    group = await service.approve_address(
        session, body.stream, body.address, body.max_nodes, utcnow()
    )
    return shared_address_response(group)


@router.post("/addresses/keep-one", response_model=SharedAddressResponse, responses=_UNKNOWN)
async def keep_one(body: AddressDecisionRequest, session: WriteSessionDep) -> SharedAddressResponse:
    """Decide that one node at an address earns on a stream (the default rule, recorded)."""
    return shared_address_response(
        await service.keep_one(session, body.stream, body.address, utcnow())
    )


@router.post(
    "/addresses/withdraw",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_UNKNOWN, 404: {"model": ErrorResponse, "description": "no decision to forget"}},
)
async def withdraw(body: AddressDecisionRequest, session: WriteSessionDep) -> None:
    """Forget the host's decision on an address: back to one node earning, and asked again."""
    await service.withdraw_approval(session, body.stream, body.address, utcnow())
