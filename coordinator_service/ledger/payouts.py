"""Compute, store, void and settle payouts; export them as CSV.

A payout covers `[period_from, period_to)` and one stream, or every stream at once (a combined
payout: each stream's pool is split among that stream's nodes, then each node's amounts and
credited seconds are added up into one line). For each stream:

    pool  = floor(pool_per_hour_minor × live_seconds / 3600)   (the remainder stays with the host)
    share = largest-remainder split of pool pro rata to credited seconds (shares.py)

A stored payout never changes: lines keep each node's display name, payout handle, credited
seconds and amount as they were. A period may be paid once: computing a payout that overlaps a
non-voided one for the same stream (a combined payout overlaps every stream) is refused until
that one is voided (on PostgreSQL computations take an advisory lock, so two replicas cannot
both pass that check; SQLite has a single writer). Marking paid is idempotent; a paid payout
cannot be voided and a voided one cannot be marked paid.
"""

import csv
import io
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import as_utc
from coordinator_service.ledger.errors import (
    PayoutConflictError,
    PayoutInputError,
    PayoutNotFoundError,
)
from coordinator_service.ledger.shares import split_pool
from coordinator_service.ledger.tally import Tally, tally
from coordinator_service.money import format_minor
from coordinator_service.storage import locks
from coordinator_service.storage.models import Payout, PayoutLine, Stream

__all__ = [
    "CSV_HEADER",
    "PayoutLineView",
    "PayoutView",
    "compute_payout",
    "csv_cell",
    "get_payout",
    "list_payouts",
    "mark_paid",
    "payout_csv",
    "split_tally",
    "void_payout",
]

PAYOUT_LOCK = locks.PAYOUTS  # the advisory lock that serializes payout computations
CSV_HEADER = ("node_id", "display_name", "payout_handle", "credited_seconds", "amount", "currency")


@dataclass(frozen=True, slots=True)
class PayoutLineView:
    """One node's line of a payout."""

    node_id: str
    display_name: str
    payout_handle: str
    credited_seconds: int
    amount_minor: int


@dataclass(slots=True)
class PayoutView:
    """A payout as stored, with its lines (empty when listed)."""

    payout_id: str
    stream: str | None
    period_from: datetime
    period_to: datetime
    computed_at: datetime
    pool_minor: int
    currency: str
    live_seconds: int
    paid_at: datetime | None
    voided_at: datetime | None
    node_count: int = 0
    lines: list[PayoutLineView] = field(default_factory=list)


def split_tally(counted: Tally) -> tuple[dict[str, int], dict[str, int], int, int]:
    """Return amounts and credited seconds per node, the pool and live seconds of a tally."""
    amounts: dict[str, int] = defaultdict(int)
    seconds: dict[str, int] = defaultdict(int)
    pool = live = 0
    for stream in counted.streams:
        live += stream.live_seconds
        pool += stream.pool_minor
        for node_id, share in split_pool(stream.pool_minor, stream.credited).items():
            amounts[node_id] += share
            seconds[node_id] += stream.credited[node_id]
    return dict(amounts), dict(seconds), pool, live


def _currency(counted: Tally) -> str:
    for stream in counted.streams:
        if len(stream.currencies) > 1 and stream.pool_minor > 0:
            raise PayoutInputError(
                f"stream {stream.name}'s currency changed within the period "
                f"({', '.join(stream.currencies)}): compute the payout on each side of the change"
            )
    paying = sorted({s.currency for s in counted.streams if s.pool_minor > 0})
    if len(paying) > 1:
        raise PayoutInputError(
            f"the streams pay in different currencies ({', '.join(paying)}): "
            "compute one payout per stream"
        )
    if paying:
        return paying[0]
    return counted.streams[0].currency if counted.streams else "USD"


async def _stream_id(session: AsyncSession, name: str) -> int:
    stream_id = await session.scalar(select(Stream.id).where(Stream.name == name))
    if stream_id is None:
        raise PayoutNotFoundError(f"there is no stream named {name!r}", code="unknown_stream")
    return stream_id


async def compute_payout(
    session: AsyncSession,
    period_from: datetime,
    period_to: datetime,
    stream: str | None,
    *,
    now: datetime,
    dry_run: bool = False,
) -> PayoutView:
    """Compute the payout of a period and store it (unless `dry_run`); the caller commits."""
    period_from, period_to, now = as_utc(period_from), as_utc(period_to), as_utc(now)
    if period_to <= period_from:
        raise PayoutInputError("the period must end after it starts (--to later than --from)")
    if period_to > now:
        raise PayoutInputError(
            f"the period must be over: it ends at {period_to.isoformat()}, "
            f"now is {now.replace(microsecond=0).isoformat()}"
        )
    stream_id = await _stream_id(session, stream) if stream is not None else None
    if session.get_bind().dialect.name == "postgresql":
        # replicas computing at once: the overlap check and the insert happen one at a time
        await session.execute(select(func.pg_advisory_xact_lock(PAYOUT_LOCK)))
    overlap = select(Payout.id).where(
        Payout.voided_at.is_(None),
        Payout.period_from < period_to,
        Payout.period_to > period_from,
    )
    if stream_id is not None:
        overlap = overlap.where(or_(Payout.stream_id.is_(None), Payout.stream_id == stream_id))
    clash = await session.scalar(overlap.limit(1))
    if clash is not None:
        raise PayoutConflictError(
            f"payout {clash} already covers part of this period: void it first",
            code="payout_overlap",
        )

    counted = await tally(
        session, period_from, period_to, None if stream_id is None else [stream_id]
    )
    amounts, seconds, pool, live = split_tally(counted)
    currency = _currency(counted)
    order = sorted(seconds, key=lambda node_id: (-amounts[node_id], -seconds[node_id], node_id))
    lines = [
        PayoutLineView(
            node_id=node_id,
            display_name=counted.nodes[node_id].display_name,
            payout_handle=counted.nodes[node_id].payout_handle,
            credited_seconds=seconds[node_id],
            amount_minor=amounts[node_id],
        )
        for node_id in order
    ]
    view = PayoutView(
        payout_id="pay_" + secrets.token_hex(8),
        stream=stream,
        period_from=period_from,
        period_to=period_to,
        computed_at=now,
        pool_minor=pool,
        currency=currency,
        live_seconds=live,
        paid_at=None,
        voided_at=None,
        node_count=len(lines),
        lines=lines,
    )
    if not dry_run:
        session.add(
            Payout(
                id=view.payout_id,
                stream_id=stream_id,
                period_from=period_from,
                period_to=period_to,
                computed_at=now,
                pool_minor=pool,
                currency=currency,
                live_seconds=live,
            )
        )
        await session.flush()
        if lines:
            await session.execute(
                insert(PayoutLine),
                [
                    {
                        "payout_id": view.payout_id,
                        "position": position,
                        "node_id": line.node_id,
                        "display_name": line.display_name,
                        "payout_handle": line.payout_handle,
                        "credited_seconds": line.credited_seconds,
                        "amount_minor": line.amount_minor,
                    }
                    for position, line in enumerate(lines)
                ],
            )
    return view


def _view(payout: Payout, stream: str | None, node_count: int) -> PayoutView:
    return PayoutView(
        payout_id=payout.id,
        stream=stream,
        period_from=as_utc(payout.period_from),
        period_to=as_utc(payout.period_to),
        computed_at=as_utc(payout.computed_at),
        pool_minor=payout.pool_minor,
        currency=payout.currency,
        live_seconds=payout.live_seconds,
        paid_at=None if payout.paid_at is None else as_utc(payout.paid_at),
        voided_at=None if payout.voided_at is None else as_utc(payout.voided_at),
        node_count=node_count,
    )


async def _load(session: AsyncSession, payout_id: str) -> tuple[Payout, str | None]:
    row = (
        await session.execute(
            select(Payout, Stream.name)
            .outerjoin(Stream, Stream.id == Payout.stream_id)
            .where(Payout.id == payout_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise PayoutNotFoundError(f"there is no payout {payout_id!r}", code="unknown_payout")
    return row[0], row[1]


async def get_payout(session: AsyncSession, payout_id: str) -> PayoutView:
    """Return a stored payout with its lines, in their stored order."""
    payout, stream = await _load(session, payout_id)
    rows = await session.execute(
        select(
            PayoutLine.node_id,
            PayoutLine.display_name,
            PayoutLine.payout_handle,
            PayoutLine.credited_seconds,
            PayoutLine.amount_minor,
        )
        .where(PayoutLine.payout_id == payout_id)
        .order_by(PayoutLine.position)
    )
    lines = [PayoutLineView(*row) for row in rows]
    view = _view(payout, stream, len(lines))
    view.lines = lines
    return view


async def list_payouts(session: AsyncSession) -> list[PayoutView]:
    """Return every payout, newest period first, without lines."""
    counts = (
        select(PayoutLine.payout_id, func.count().label("n"))
        .group_by(PayoutLine.payout_id)
        .subquery()
    )
    rows = await session.execute(
        select(Payout, Stream.name, counts.c.n)
        .outerjoin(Stream, Stream.id == Payout.stream_id)
        .outerjoin(counts, counts.c.payout_id == Payout.id)
        .order_by(Payout.period_to.desc(), Payout.computed_at.desc())
    )
    return [_view(payout, stream, n or 0) for payout, stream, n in rows]


async def _settle(session: AsyncSession, payout_id: str, column: str, now: datetime) -> PayoutView:
    """Set `paid_at` or `voided_at` only while both are empty; the loser of a race gets 409.

    One conditional UPDATE decides: on PostgreSQL a concurrent transaction waits for the row
    lock and then re-checks the condition on the committed row, so exactly one of mark-paid and
    void wins. A repeat of the winning verb changes nothing (idempotent).
    """
    settled = await session.execute(
        update(Payout)
        .where(Payout.id == payout_id, Payout.paid_at.is_(None), Payout.voided_at.is_(None))
        .values({column: as_utc(now)})
        .execution_options(synchronize_session=False)
    )
    if settled.rowcount == 0:  # type: ignore[attr-defined]
        payout, _ = await _load(session, payout_id)
        if column == "paid_at" and payout.voided_at is not None:
            raise PayoutConflictError(
                f"payout {payout_id} was voided: it cannot be marked paid", code="payout_voided"
            )
        if column == "voided_at" and payout.paid_at is not None:
            raise PayoutConflictError(
                f"payout {payout_id} was already paid: it cannot be voided", code="payout_paid"
            )
    return await get_payout(session, payout_id)


async def mark_paid(session: AsyncSession, payout_id: str, *, now: datetime) -> PayoutView:
    """Record that a payout was settled; a second call changes nothing; 409 once voided."""
    return await _settle(session, payout_id, "paid_at", now)


async def void_payout(session: AsyncSession, payout_id: str, *, now: datetime) -> PayoutView:
    """Void an unpaid payout so its period can be computed again; idempotent; 409 once paid."""
    return await _settle(session, payout_id, "voided_at", now)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """Neutralise a text cell: a leading apostrophe before a formula start; line breaks as spaces.

    (The line terminator is "\n": a bare CR would go unquoted and split the row.)
    """
    cell = f"'{text}" if text.startswith(FORMULA_STARTS) else text
    return cell.replace("\r", " ").replace("\n", " ")


def payout_csv(view: PayoutView) -> str:
    """Return the payout's lines as CSV with the contract's header; amounts as decimals.

    Names and handles come from friends: a cell starting like a formula gets a leading `'`.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for line in view.lines:
        writer.writerow(
            (
                csv_cell(line.node_id),
                csv_cell(line.display_name),
                csv_cell(line.payout_handle),
                line.credited_seconds,
                format_minor(line.amount_minor, view.currency),
                view.currency,
            )
        )
    return out.getvalue()
