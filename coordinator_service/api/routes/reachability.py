"""`POST /api/v1/nodes/me/reachability`: the coordinator fetches the caller's relay URL once.

The wizard and the tray's "Check now" ask this after opening the port: the answer says whether
the relay answers from outside and, when not, why (refused, timeout, private_address, ...).
The fetch is the prober's (`check_reachable`): SSRF guard unless --allow-private-relays,
the checked address pinned, no redirects, body and time capped. Node calls are rate limited
per token (NodeDep).
"""

from typing import Any

import httpx
from fastapi import APIRouter

from coordinator_service.api.deps import ContextDep, NodeDep
from coordinator_service.prober.addresses import coordinator_addresses
from coordinator_service.prober.probe import ProbeConfig, check_reachable
from coordinator_service.relay_tls.trust import relay_trust
from streamr_protocol.models import ErrorResponse, ReachabilityResponse

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/nodes", tags=["nodes"])

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or wrong node token"},
    429: {"model": ErrorResponse, "description": "too many requests"},
}


@router.post("/me/reachability", response_model=ReachabilityResponse, responses=_AUTH_ERRORS)
async def reachability(node: NodeDep, ctx: ContextDep) -> ReachabilityResponse:
    """Fetch the calling node's relay URL from the coordinator; say whether it answered."""
    config = ProbeConfig(
        allow_private=ctx.settings.allow_private_relays,
        relay_domain=ctx.settings.relay_domain,
        denied=await coordinator_addresses(ctx.settings.public_url, ctx.settings.host),
    )
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(config.timeout_s, connect=min(3.0, config.timeout_s)),
        follow_redirects=False,
        trust_env=False,
        verify=relay_trust(ctx.settings.relay_ca_file),
    ) as client:
        outcome = await check_reachable(client, node.relay_url, config)
    return ReachabilityResponse(
        reachable=outcome.ok,
        reason=outcome.reason,
        detail=outcome.detail,
        relay_url=node.relay_url,
        latency_ms=outcome.latency_ms,
    )
