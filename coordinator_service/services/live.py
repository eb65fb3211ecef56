"""When a stream is live, by the coordinator's clock: `streams.live` and `stream_live_intervals`.

One writer for both the SRS hooks (publish/unpublish, at once) and the origin poller (which
extends the open interval while the origin's playlist moves): a stream going live opens an
interval, or continues the last one when it ended less than `JOIN_SECONDS` ago; a stream that
was live going off-air ends its open interval now.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.storage.models import Stream, StreamLiveInterval

__all__ = ["JOIN_SECONDS", "mark_live"]

JOIN_SECONDS = 30


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def mark_live(session: AsyncSession, stream: Stream, live: bool, now: datetime) -> bool:
    """Record that `stream` is (still) live or went off-air at `now`; commit.

    Returns True when the stream's live flag changed.
    """
    latest = await session.scalar(
        select(StreamLiveInterval)
        .where(StreamLiveInterval.stream_id == stream.id)
        .order_by(StreamLiveInterval.ended_at.desc())
        .limit(1)
    )
    recent = latest is not None and _aware(latest.ended_at) >= now - timedelta(seconds=JOIN_SECONDS)
    changed = bool(stream.live) != live
    if live:
        if latest is not None and recent:
            latest.ended_at = max(_aware(latest.ended_at), now)
        else:
            session.add(StreamLiveInterval(stream_id=stream.id, started_at=now, ended_at=now))
    elif latest is not None and stream.live:
        # It was live (a publish hook said so) until now: the open interval runs to now.
        latest.ended_at = max(_aware(latest.ended_at), now)
    if changed:
        stream.live = live
        stream.live_changed_at = now
    await session.commit()
    return changed
