"""A stream's pool and currency over time, integrated over its live seconds.

Each change of pool or currency is a row effective from its moment on; before the first row the
first row's values apply (a stream that existed before the history was kept). A period's pool is

    floor( Σ pool_per_hour_i × live_seconds_i / 3600 )

over the history segments i that overlap it. A period whose live time spans two currencies has
no single pool: the payout is refused and must be computed on each side of the change.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import Span, clip, to_seconds, total
from coordinator_service.storage.models import StreamPoolChange

__all__ = ["PoolPart", "PoolRate", "load_rates", "pool_parts", "record_rate"]


@dataclass(frozen=True, slots=True)
class PoolRate:
    """A pool and currency from `start` (epoch seconds) on."""

    start: int
    pool_per_hour_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class PoolPart:
    """Live seconds of a period paid at one rate."""

    pool_per_hour_minor: int
    currency: str
    live_seconds: int


async def load_rates(session: AsyncSession, stream_ids: Sequence[int]) -> dict[int, list[PoolRate]]:
    """Return each stream's history, oldest first (streams without one are left out)."""
    rates: dict[int, list[PoolRate]] = defaultdict(list)
    rows = await session.execute(
        select(
            StreamPoolChange.stream_id,
            StreamPoolChange.effective_from,
            StreamPoolChange.pool_per_hour_minor,
            StreamPoolChange.currency,
        )
        .where(StreamPoolChange.stream_id.in_(stream_ids))
        .order_by(StreamPoolChange.stream_id, StreamPoolChange.effective_from, StreamPoolChange.id)
    )
    for sid, effective_from, pool, currency in rows:
        rates[sid].append(PoolRate(to_seconds(effective_from), pool, currency))
    return dict(rates)


def pool_parts(live: list[Span], rates: list[PoolRate], lo: int, hi: int) -> list[PoolPart]:
    """Split the merged live spans of [lo, hi) by the rates in force (rates sorted, non-empty)."""
    parts = []
    for index, rate in enumerate(rates):
        start = lo if index == 0 else max(lo, rate.start)
        end = hi if index + 1 == len(rates) else min(hi, rates[index + 1].start)
        if end <= start:
            continue
        seconds = total(clip(live, start, end))
        if seconds:
            parts.append(PoolPart(rate.pool_per_hour_minor, rate.currency, seconds))
    return parts


def record_rate(
    session: AsyncSession, stream_id: int, at: datetime, pool_per_hour_minor: int, currency: str
) -> None:
    """Add a history row (the caller commits)."""
    session.add(
        StreamPoolChange(
            stream_id=stream_id,
            effective_from=at,
            pool_per_hour_minor=pool_per_hour_minor,
            currency=currency,
        )
    )
