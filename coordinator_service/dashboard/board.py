"""The public leaderboard: supporters of each stream this period, from the ledger's estimate."""

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.earnings import (
    ANONYMOUS,
    current_period_start,
    estimate,
    flagged_node_ids,
)
from coordinator_service.ledger.payouts import split_tally
from coordinator_service.ledger.tally import Tally

__all__ = ["Board", "BoardRow", "StreamBoard", "cached_board", "stream_boards"]

CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class BoardRow:
    """One supporter of a stream."""

    rank: int
    display_name: str
    credited_seconds: int
    earned_minor: int


@dataclass
class StreamBoard:
    """The supporters of one stream, best first."""

    name: str
    currency: str
    pool_minor: int
    rows: list[BoardRow] = field(default_factory=list)


@dataclass
class Board:
    """Every stream's supporters for the period so far."""

    period_from: datetime
    period_to: datetime
    streams: list[StreamBoard]
    made_at: float


async def stream_boards(db: AsyncSession, now: datetime, limit: int = 50) -> Board:
    """Rank each stream's nodes by credited time since the last payout (the ledger's split)."""
    period_from = min(await current_period_start(db, now), now)
    counted = (await estimate(db, period_from, now)).counted
    flagged = await flagged_node_ids(db)
    boards = []
    for stream in counted.streams:
        amounts, seconds, pool, _ = split_tally(
            Tally(counted.start, counted.end, [stream], counted.nodes)
        )
        shown = [n for n in seconds if n not in flagged]
        ranked = sorted(shown, key=lambda n: (-seconds[n], -amounts.get(n, 0), n))[:limit]
        rows = [
            BoardRow(
                rank=rank,
                display_name=ANONYMOUS
                if counted.nodes[n].anonymous
                else counted.nodes[n].display_name,
                credited_seconds=seconds[n],
                earned_minor=amounts.get(n, 0),
            )
            for rank, n in enumerate(ranked, start=1)
        ]
        boards.append(StreamBoard(stream.name, stream.currency, pool, rows))
    return Board(period_from, now, boards, time.monotonic())


async def cached_board(db: AsyncSession, now: datetime, holder: dict[str, Board]) -> Board:
    """Return the board, recomputed at most every CACHE_SECONDS (`holder` keeps it)."""
    board = holder.get("board")
    if board is None or time.monotonic() - board.made_at > CACHE_SECONDS:
        board = holder["board"] = await stream_boards(db, now)
    return board
