"""What a node has earned (today, this period so far, past payouts) and the public leaderboard.

The current period starts where the latest non-voided payout ended (or at the start of the
current UTC month before the first payout) and runs until now. Estimates use the same tally and
largest-remainder split as a payout of that period would, so they match it exactly if nothing
else happens before it is computed.
"""

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import as_utc
from coordinator_service.ledger.explain import credited_by_node, explain_node
from coordinator_service.ledger.friend_reasons import credit_breakdown
from coordinator_service.ledger.payouts import split_tally
from coordinator_service.ledger.tally import CreditTrace, Tally, tally
from coordinator_service.storage.models import Node, Payout, PayoutLine, Probe, Stream
from streamr_protocol.models import (
    LeaderboardEntry,
    LeaderboardResponse,
    NodeEarningsResponse,
    PayoutSummary,
    ProbeRecord,
)

__all__ = [
    "flagged_node_ids",
    "ANONYMOUS",
    "Estimate",
    "EstimateCache",
    "current_period_start",
    "estimate",
    "leaderboard",
    "node_earnings",
    "node_probes",
]

ANONYMOUS = "Anonymous supporter"


@dataclass(frozen=True, slots=True)
class Estimate:
    """Amounts and credited seconds per node for a span, in one currency.

    When traced, `trace` is what each rule took from each node in the tally of every stream,
    and `credited` each node's credited seconds in it (any currency): `explain.explain_node`
    reads both to tell one node why, without a tally of its own.
    """

    currency: str
    amounts: dict[str, int]
    seconds: dict[str, int]
    counted: Tally
    trace: CreditTrace | None = None
    credited: dict[str, int] = field(default_factory=dict)


class EstimateCache:
    """Reuse an estimate of a span starting at the same moment for `ttl_s` seconds.

    Every node's earnings and the leaderboard need the whole split (shares depend on everyone's
    credit), so one computation serves all requests of the next few seconds.
    """

    def __init__(self, ttl_s: float = 5.0) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[datetime, tuple[float, Estimate]] = {}

    async def get(
        self, session: AsyncSession, start: datetime, end: datetime, traced: bool = False
    ) -> Estimate:
        """Return a fresh enough estimate of `[start, end)` (`traced`: with its credit trace),
        computing it when needed."""
        clock = time.monotonic()
        cached = self._entries.get(start)
        if cached is not None and clock - cached[0] < self.ttl_s:
            if cached[1].trace is not None or not traced:
                return cached[1]
        result = await estimate(session, start, end, traced)
        self._entries = {k: v for k, v in self._entries.items() if clock - v[0] < self.ttl_s}
        self._entries[start] = (clock, result)
        return result


async def current_period_start(session: AsyncSession, now: datetime) -> datetime:
    """Return where the unpaid period starts: the end of the latest non-voided payout."""
    latest = await session.scalar(
        select(func.max(Payout.period_to)).where(Payout.voided_at.is_(None))
    )
    if latest is not None:
        return as_utc(latest)
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def estimate(
    session: AsyncSession, start: datetime, end: datetime, traced: bool = False
) -> Estimate:
    """Split what every stream's pool would pay for `[start, end)`, in the main currency.

    Streams paying in another currency than the largest pool's are left out of the estimate
    (a payout of such a mix is refused too; compute those per stream). `traced`: also note
    what each rule took from each node (see `Estimate`).
    """
    trace = CreditTrace() if traced else None
    counted = await tally(session, start, end, None, trace)
    credited = credited_by_node(counted)
    pools: Counter[str] = Counter()
    for stream in counted.streams:
        pools[stream.currency] += stream.pool_minor
    currency = pools.most_common(1)[0][0] if pools else "USD"
    counted.streams = [s for s in counted.streams if s.currency == currency]
    amounts, seconds, _, _ = split_tally(counted)
    return Estimate(currency, amounts, seconds, counted, trace, credited)


async def node_probes(session: AsyncSession, node_id: str | None, limit: int) -> list[ProbeRecord]:
    """Return the newest probes (of one node, or all), newest first."""
    query = (
        select(Probe, Stream.name)
        .outerjoin(Stream, Stream.id == Probe.stream_id)
        .order_by(Probe.at.desc(), Probe.id.desc())
        .limit(limit)
    )
    if node_id is not None:
        query = query.where(Probe.node_id == node_id)
    return [
        ProbeRecord(
            at=as_utc(probe.at),
            node_id=probe.node_id,
            stream=stream,
            ok=probe.ok,
            reason=probe.reason,
            detail=probe.detail,
            latency_ms=probe.latency_ms,
        )
        for probe, stream in (await session.execute(query)).all()
    ]


async def node_earnings(
    session: AsyncSession,
    node_id: str,
    now: datetime,
    cache: EstimateCache | None = None,
    credit: bool = False,
) -> NodeEarningsResponse:
    """Return a node's earnings today (UTC), this period so far, its payouts and probes.

    With `credit`, also why its time this period was or was not credited (`friend_reasons`).
    """
    now = as_utc(now)
    cache = cache or EstimateCache(0)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    period_from = await current_period_start(session, now)
    today = await cache.get(session, midnight, now)
    period = await cache.get(session, min(period_from, now), now, traced=credit)
    rows = await session.execute(
        select(PayoutLine.amount_minor, Payout, Stream.name)
        .join(Payout, Payout.id == PayoutLine.payout_id)
        .outerjoin(Stream, Stream.id == Payout.stream_id)
        .where(PayoutLine.node_id == node_id, Payout.voided_at.is_(None))
        .order_by(Payout.period_to.desc())
        .limit(100)
    )
    payouts = [
        PayoutSummary(
            payout_id=payout.id,
            stream=stream,
            period_from=as_utc(payout.period_from),
            period_to=as_utc(payout.period_to),
            amount_minor=amount,
            currency=payout.currency,
            paid_at=None if payout.paid_at is None else as_utc(payout.paid_at),
        )
        for amount, payout, stream in rows.all()
    ]
    breakdown = None
    if credit and period.trace is not None:
        # the span the (maybe cached) estimate tallied, so time up and the trace agree
        start, end = (
            datetime.fromtimestamp(t, UTC) for t in (period.counted.start, period.counted.end)
        )
        explained = await explain_node(session, node_id, start, end, period.credited, period.trace)
        breakdown = credit_breakdown(explained)
    return NodeEarningsResponse(
        currency=period.currency,
        today_minor=today.amounts.get(node_id, 0),
        period_minor=period.amounts.get(node_id, 0),
        period_from=period_from,
        credited_seconds_today=today.seconds.get(node_id, 0),
        payouts=payouts,
        probes=await node_probes(session, node_id, 50),
        credit=breakdown,
    )


async def leaderboard(
    session: AsyncSession, now: datetime, limit: int = 100, cache: EstimateCache | None = None
) -> LeaderboardResponse:
    """Rank nodes by credited time this period, then earnings; anonymous ones unnamed."""
    now = as_utc(now)
    period_from = min(await current_period_start(session, now), now)
    result = await (cache or EstimateCache(0)).get(session, period_from, now)
    nodes = result.counted.nodes
    flagged = await flagged_node_ids(session)
    ranked = sorted(
        (n for n in result.seconds if n not in flagged),
        key=lambda n: (-result.seconds[n], -result.amounts.get(n, 0), n),
    )[:limit]
    return LeaderboardResponse(
        period_from=period_from,
        period_to=now,
        entries=[
            LeaderboardEntry(
                rank=rank,
                display_name=ANONYMOUS if nodes[n].anonymous else nodes[n].display_name,
                stream=None,
                credited_seconds=result.seconds[n],
                earned_minor=result.amounts.get(n, 0),
                currency=result.currency,
            )
            for rank, n in enumerate(ranked, start=1)
        ],
    )


async def flagged_node_ids(session: AsyncSession) -> set[str]:
    """Nodes flagged now: the public leaderboards leave them out (a caught cheat is no example)."""
    return set((await session.scalars(select(Node.id).where(Node.flagged))).all())
