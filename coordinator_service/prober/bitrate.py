"""One viewer slot of a stream: the bitrate of its lowest variant, measured at the origin.

A viewer can always play the lowest variant, so a relay offers a viewer slot when its upload
capacity reaches that bitrate. The origin watcher fetches every segment, so it knows their bytes
and durations: the slot bitrate is `bytes × 8 / seconds` over each variant's last `WINDOW`
segments, the lowest variant's; before any segment was read, the master playlist's lowest
`BANDWIDTH`. It is recorded (`StreamBitrateChange`) when it first is known and whenever it moves
by more than `CHANGE` of the recorded value, so the ledger (`ledger/slots.py`) reads the slot
bitrate in force at any moment, and routing (`routing.py`) counts slots with the latest one
(`VIEWER_KBIT` while a stream has none).
"""

import math
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.prober.origin import StreamIndex
from coordinator_service.storage.models import StreamBitrateChange

__all__ = ["CHANGE", "WINDOW", "current_slot_kbit", "moved", "record_slot_kbit", "slot_kbit"]

WINDOW = 10  # segments per variant
CHANGE = 0.10  # a relative move of the slot bitrate that is recorded


def slot_kbit(index: StreamIndex) -> int | None:
    """Return the stream's slot bitrate in kbit/s (rounded up), None while nothing is known."""
    recent: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for (variant, _, _), segment in index.recent.items():
        if segment.size > 0 and segment.duration > 0:
            recent[variant].append((segment.size, segment.duration))
    rates = []
    for segments in recent.values():
        window = segments[-WINDOW:]
        seconds = sum(duration for _, duration in window)
        rates.append(sum(size for size, _ in window) * 8 / seconds / 1000)
    if rates:
        return max(1, math.ceil(min(rates)))
    announced = [v.bandwidth for v in index.variants if v.bandwidth > 0]
    return max(1, math.ceil(min(announced) / 1000)) if announced else None


def moved(recorded: int | None, kbit: int) -> bool:
    """Tell whether `kbit` differs from the recorded slot bitrate by more than `CHANGE`."""
    return recorded is None or abs(kbit - recorded) > CHANGE * recorded


async def current_slot_kbit(session: AsyncSession, stream_id: int) -> int | None:
    """Return the stream's latest recorded slot bitrate (kbit/s), None if none was recorded."""
    return await session.scalar(
        select(StreamBitrateChange.slot_kbit)
        .where(StreamBitrateChange.stream_id == stream_id)
        .order_by(StreamBitrateChange.started_at.desc(), StreamBitrateChange.id.desc())
        .limit(1)
    )


async def record_slot_kbit(session: AsyncSession, stream_id: int, kbit: int, now: datetime) -> int:
    """Record the stream's slot bitrate from `now` if it moved by more than `CHANGE` from the one
    recorded (the caller commits); return the slot bitrate in force after this."""
    recorded = await current_slot_kbit(session, stream_id)
    if recorded is not None and not moved(recorded, kbit):
        return recorded
    session.add(StreamBitrateChange(stream_id=stream_id, slot_kbit=kbit, started_at=now))
    return kbit
