"""The public leaderboard: credited time and earnings this period (cached a few seconds)."""

import time

from fastapi import APIRouter, Request

from coordinator_service.api.deps import SessionDep, ip_limited
from coordinator_service.ledger.earnings import leaderboard as compute_leaderboard
from coordinator_service.services.clock import utcnow
from streamr_protocol.models import LeaderboardResponse

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["public"], dependencies=[ip_limited])

CACHE_SECONDS = 5.0


@router.get("/leaderboard", response_model=LeaderboardResponse)
async def leaderboard(request: Request, session: SessionDep) -> LeaderboardResponse:
    """Nodes by credited time this period, then earnings; anonymous ones unnamed."""
    cached: tuple[float, LeaderboardResponse] | None = getattr(
        request.app.state, "leaderboard_cache", None
    )
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    board = await compute_leaderboard(session, utcnow())
    request.app.state.leaderboard_cache = (time.monotonic(), board)
    return board
