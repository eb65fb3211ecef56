"""Streams: the host's live streams, their origin playlist and reward pool."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.errors import ConflictError, NotFoundError, ValidationError
from coordinator_service.ledger.credit import as_utc
from coordinator_service.ledger.pool_history import record_rate
from coordinator_service.ledger.tally import tally
from coordinator_service.money import check_currency
from coordinator_service.services.clock import utcnow
from coordinator_service.services.publish_keys import new_publish_key
from coordinator_service.storage.models import Payout, Stream
from streamr_protocol.models import STREAM_NAME_PATTERN

__all__ = [
    "StreamChanges",
    "create_stream",
    "delete_stream",
    "get_stream",
    "list_streams",
    "update_stream",
]

_NAME = re.compile(STREAM_NAME_PATTERN)
UNPAID_SINCE = datetime(1970, 1, 1, tzinfo=UTC)  # before any payout, all credited time is unpaid


@dataclass(frozen=True)
class StreamChanges:
    """What a stream update changes; None leaves a field as it is."""

    origin_url: str | None = None
    pool_per_hour_minor: int | None = None
    currency: str | None = None
    paused: bool | None = None


def _check(
    name: str | None, origin_url: str | None, pool: int | None, currency: str | None
) -> None:
    if name is not None and not _NAME.match(name):
        raise ValidationError(
            f"stream name {name!r} is not allowed: use 1-64 letters, digits, '-' or '_'"
        )
    if origin_url is not None and (
        not re.match(r"^https?://[^\s/]+", origin_url) or len(origin_url) > 2048
    ):
        raise ValidationError(f"origin {origin_url!r} must be an http(s) URL")
    if pool is not None and not 0 <= pool <= 10**12:
        raise ValidationError("the pool per hour must be between 0 and 10^12 minor units")
    if currency is not None:
        check_currency(currency)


async def create_stream(
    session: AsyncSession, name: str, origin_url: str, pool_per_hour_minor: int, currency: str
) -> Stream:
    """Add a stream and commit; its name must be new."""
    _check(name, origin_url, pool_per_hour_minor, currency)
    existing = await session.scalar(select(Stream.id).where(Stream.name == name))
    if existing is not None:
        raise ConflictError(f"stream {name!r} already exists", code="stream_exists")
    stream = Stream(
        name=name,
        origin_url=origin_url,
        pool_per_hour_minor=pool_per_hour_minor,
        currency=currency,
        paused=False,
        live=False,
        created_at=utcnow(),
        publish_key=new_publish_key(),
    )
    session.add(stream)
    try:
        await session.flush()
        record_rate(session, stream.id, stream.created_at, pool_per_hour_minor, currency)
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ConflictError(f"stream {name!r} already exists", code="stream_exists") from exc
    return stream


async def list_streams(session: AsyncSession, *, include_paused: bool = True) -> list[Stream]:
    """Return the streams by name."""
    query = select(Stream).order_by(Stream.name)
    if not include_paused:
        query = query.where(Stream.paused.is_(False))
    return list((await session.scalars(query)).all())


async def get_stream(session: AsyncSession, name: str) -> Stream:
    """Return one stream by name, or raise NotFoundError."""
    stream = await session.scalar(select(Stream).where(Stream.name == name))
    if stream is None:
        raise NotFoundError(f"no stream named {name!r}", code="unknown_stream")
    return stream


async def update_stream(session: AsyncSession, name: str, changes: StreamChanges) -> Stream:
    """Change a stream's origin, pool, currency or paused flag and commit."""
    _check(None, changes.origin_url, changes.pool_per_hour_minor, changes.currency)
    stream = await get_stream(session, name)
    now = utcnow()
    if changes.currency is not None and changes.currency != stream.currency:
        await _refuse_currency_change_with_credit(session, stream, now)
    if changes.origin_url is not None:
        stream.origin_url = changes.origin_url
    pool = changes.pool_per_hour_minor
    currency = changes.currency
    if (pool is not None and pool != stream.pool_per_hour_minor) or (
        currency is not None and currency != stream.currency
    ):
        stream.pool_per_hour_minor = pool if pool is not None else stream.pool_per_hour_minor
        stream.currency = currency if currency is not None else stream.currency
        record_rate(session, stream.id, now, stream.pool_per_hour_minor, stream.currency)
    if changes.paused is not None:
        stream.paused = changes.paused
    await session.commit()
    return stream


async def _refuse_currency_change_with_credit(
    session: AsyncSession, stream: Stream, now: datetime
) -> None:
    """A currency change is refused while the unpaid period has credited time for the stream."""
    paid_until = await session.scalar(
        select(func.max(Payout.period_to)).where(
            Payout.voided_at.is_(None),
            or_(Payout.stream_id.is_(None), Payout.stream_id == stream.id),
        )
    )
    since = as_utc(paid_until) if paid_until is not None else UNPAID_SINCE
    if since >= now:
        return
    counted = await tally(session, since, now, [stream.id])
    if any(any(s.credited.values()) for s in counted.streams):
        raise ConflictError(
            f"stream {stream.name!r} has credited time in {stream.currency} since "
            f"{'its last payout' if paid_until is not None else 'it started'}: compute its "
            "payout up to now first, "
            "then change the currency",
            code="currency_in_use",
        )


async def delete_stream(session: AsyncSession, name: str) -> None:
    """Remove a stream and its uptime records; refused while payouts refer to it."""
    stream = await get_stream(session, name)
    payouts = await session.scalar(
        select(func.count()).select_from(Payout).where(Payout.stream_id == stream.id)
    )
    if payouts:
        raise ConflictError(
            f"stream {name!r} has {payouts} payout(s); pause it instead of deleting it",
            code="stream_in_use",
        )
    await session.execute(delete(Stream).where(Stream.id == stream.id))
    await session.commit()
