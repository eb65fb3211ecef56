"""The public leaderboard: credited time and earnings this period.

Estimates are shared for a few seconds (`EstimatesDep`): every node's earnings and the
leaderboard need the whole split, so one computation serves all requests of that moment.
"""

from typing import Annotated

from fastapi import APIRouter, Depends

from coordinator_service.api.deps import ContextDep, SessionDep, ip_limited
from coordinator_service.ledger.earnings import EstimateCache
from coordinator_service.ledger.earnings import leaderboard as compute_leaderboard
from coordinator_service.services.clock import utcnow
from streamr_protocol.models import LeaderboardResponse

__all__ = ["EstimatesDep", "router"]

router = APIRouter(prefix="/api/v1", tags=["public"], dependencies=[ip_limited])


def _estimates(ctx: ContextDep) -> EstimateCache:
    return ctx.estimates


EstimatesDep = Annotated[EstimateCache, Depends(_estimates)]
"""The app's shared cache of earnings estimates."""


@router.get("/leaderboard", response_model=LeaderboardResponse)
async def leaderboard(session: SessionDep, estimates: EstimatesDep) -> LeaderboardResponse:
    """Nodes by credited time this period, then earnings; anonymous ones unnamed."""
    return await compute_leaderboard(session, utcnow(), cache=estimates)
