"""No viewer slot, no credit: the spans in which a node's upload cap was under its stream's bitrate.

A node offers a viewer slot of a stream while its capacity (kbit/s, `NodeCapacityChange`: set at
registration and by heartbeats that change it) reaches the stream's slot bitrate (kbit/s, the
lowest variant measured at the origin, `StreamBitrateChange`, see `prober/bitrate.py`). Each
history is a list of values, each in force from its moment until the next one. Before a history's
first value nothing is known and the node is taken to have had a slot (databases from before the
rule: credit is never taken retroactively). Only values set strictly before the period's end are
read, so a closed period never depends on anything said after it.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import Span, to_seconds
from coordinator_service.storage.models import NodeCapacityChange, StreamBitrateChange

__all__ = ["Level", "NoSlot", "load_levels", "no_slot_spans"]


@dataclass(frozen=True, slots=True)
class Level:
    """A value in kbit/s, in force from `at` (epoch seconds) on."""

    at: int
    kbit: int


@dataclass(frozen=True, slots=True)
class NoSlot:
    """A span without a viewer slot, and the capacity (kbit/s) that would have given one."""

    span: Span
    needs_kbit: int


def _in_force(levels: Sequence[Level], moments: list[int]) -> list[int | None]:
    """The value in force at each moment (sorted), None before the first; the last of a tie."""
    ordered = sorted(levels, key=lambda level: level.at)  # stable: ties keep their stored order
    values: list[int | None] = []
    position, value = 0, None
    for moment in moments:
        while position < len(ordered) and ordered[position].at <= moment:
            value = ordered[position].kbit
            position += 1
        values.append(value)
    return values


def no_slot_spans(capacity: Sequence[Level], bitrate: Sequence[Level], end: int) -> list[NoSlot]:
    """Return the spans before `end` in which the capacity was under the slot bitrate."""
    moments = sorted({level.at for level in (*capacity, *bitrate) if level.at < end})
    caps = _in_force([c for c in capacity if c.at < end], moments)
    rates = _in_force([b for b in bitrate if b.at < end], moments)
    result: list[NoSlot] = []
    for position, start in enumerate(moments):
        stop = moments[position + 1] if position + 1 < len(moments) else end
        cap, rate = caps[position], rates[position]
        if cap is None or rate is None or cap >= rate:
            continue
        if result and result[-1].span[1] == start and result[-1].needs_kbit == rate:
            result[-1] = NoSlot((result[-1].span[0], stop), rate)
        else:
            result.append(NoSlot((start, stop), rate))
    return result


async def load_levels(
    session: AsyncSession, node_ids: set[str], stream_ids: Sequence[int], end: datetime
) -> tuple[dict[str, list[Level]], dict[int, list[Level]]]:
    """Return the capacity history of each node and the slot bitrate history of each stream,
    set before `end`, oldest first (no capacities are read when no stream has a bitrate)."""
    bitrates: dict[int, list[Level]] = defaultdict(list)
    for stream_id, at, kbit in await session.execute(
        select(
            StreamBitrateChange.stream_id,
            StreamBitrateChange.started_at,
            StreamBitrateChange.slot_kbit,
        )
        .where(StreamBitrateChange.stream_id.in_(stream_ids), StreamBitrateChange.started_at < end)
        .order_by(StreamBitrateChange.started_at, StreamBitrateChange.id)
    ):
        bitrates[stream_id].append(Level(to_seconds(at), kbit))
    capacities: dict[str, list[Level]] = defaultdict(list)
    if not bitrates or not node_ids:
        return dict(capacities), dict(bitrates)
    for node_id, at, kbit in await session.execute(
        select(
            NodeCapacityChange.node_id,
            NodeCapacityChange.started_at,
            NodeCapacityChange.capacity_kbit,
        )
        .where(
            NodeCapacityChange.node_id.in_(sorted(node_ids)), NodeCapacityChange.started_at < end
        )
        .order_by(NodeCapacityChange.started_at, NodeCapacityChange.id)
    ):
        capacities[node_id].append(Level(to_seconds(at), kbit))
    return dict(capacities), dict(bitrates)
