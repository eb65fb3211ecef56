"""Viewer slots from measurements, not claims: the weights `/watch` draws relays by.

A relay's slots start from its claim (`capacity_kbit // slot bitrate − viewers`, the spare slots it
says it has). Measurements refute a claim: a relay whose latest peer audit round agreed it was
`slow` (a segment took longer than `SLOW_SEGMENT_MS`, or never finished: a trickle) gets no slots;
one its viewers report failing (`evidence.py`) is not offered at all. A single download shows
whether one connection is served in real time, not how many viewers a relay can take (on a busy
or distant link a short segment's rate says little), so measurements never raise a claim. No relay
may then weigh more than `SHARE_BOUND` × the median weight of the relays on offer (full ones
included), unless what it delivered to real viewers justifies more: `SHARE_BOUND` × the viewers it
*demonstrably served* lately. That is the kbit/s its viewers' beacons say it delivered within the
evidence window (`evidence.WINDOW`, loads that worked), per distinct vouching address at most one
slot bitrate (one address, however many players or tokens it runs, shows one viewer), summed and
divided by the slot bitrate. So a claim of 10,000,000 kbit weighs at most twice a typical
friend's until it has actually streamed to that many addresses at the stream's bitrate; a viewer
that loaded two segments in the window shows a sliver of a viewer, not a whole one.
"""

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.prober.evidence import WINDOW, viewer_verdicts
from coordinator_service.storage.models import PeerAudit

__all__ = [
    "RATE_WINDOW",
    "SHARE_BOUND",
    "Measured",
    "too_slow",
    "bounded_weights",
    "measure",
    "slots",
]

SHARE_BOUND: Final = 2
RATE_WINDOW: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Measured:
    """What the coordinator measured of one relay: too slow for peers, viewers served well."""

    too_slow: bool = False
    delivered_kbit: tuple[int, ...] = ()  # per vouching viewer address, over the window
    fails_viewers: bool = False

    def demonstrated_slots(self, slot_kbit: int) -> float:
        """Return the viewers its deliveries show it served: per address at most one slot."""
        return sum(min(kbit, slot_kbit) for kbit in self.delivered_kbit) / max(1, slot_kbit)


def slots(claim_kbit: int, viewers: int, measured: Measured, viewer_kbit: int) -> int:
    """Return the spare viewer slots of a relay: its claim, none if measured too slow for one.

    A single download shows whether one connection is served in real time, not how many viewers
    a relay can take, so a measurement can only refute a claim, never size it.
    """
    if measured.too_slow:
        return 0
    return max(0, claim_kbit // viewer_kbit - viewers)


def bounded_weights(
    weights: Mapping[str, int], measured: Mapping[str, Measured], slot_kbit: int
) -> dict[str, int]:
    """Cap each weight at `SHARE_BOUND` × the median weight (or what deliveries justify).

    The median is over every relay on offer, full ones (weight 0) included, so one big claim
    among full relays still weighs no more than its deliveries to viewers justify.
    """
    if not any(w > 0 for w in weights.values()):
        return dict(weights)
    median = statistics.median(weights.values())
    bounded = {}
    for node_id, weight in weights.items():
        served = measured.get(node_id, Measured()).demonstrated_slots(slot_kbit)
        cap = max(SHARE_BOUND * median, SHARE_BOUND * served, 1)
        bounded[node_id] = min(weight, int(cap))
    return bounded


async def too_slow(session: AsyncSession, node_ids: Sequence[str], now: datetime) -> set[str]:
    """Return the nodes whose latest counted peer audit round (within `RATE_WINDOW`) was `slow`."""
    if not node_ids:
        return set()
    rows = await session.execute(
        select(PeerAudit.node_id, PeerAudit.reason)
        .where(
            PeerAudit.node_id.in_(list(node_ids)),
            PeerAudit.reported_at >= now - RATE_WINDOW,
            PeerAudit.counted.is_(True),
        )
        .order_by(PeerAudit.node_id, PeerAudit.reported_at.desc())
    )
    latest: dict[str, str] = {}
    for node_id, reason in rows.all():
        latest.setdefault(node_id, reason)
    return {node_id for node_id, reason in latest.items() if reason == "slow"}


async def measure(
    session: AsyncSession, stream_id: int, node_ids: Sequence[str], now: datetime
) -> dict[str, Measured]:
    """Return what was measured of each node: too slow for peers, viewers' verdict."""
    slow = await too_slow(session, node_ids, now)
    verdicts = await viewer_verdicts(session, stream_id, node_ids, now)
    window_s = int(WINDOW.total_seconds())
    measured = {}
    for node_id in node_ids:
        verdict = verdicts.get(node_id)
        delivered = (
            tuple(
                verdict.delivered.get(address, 0) * 8 // 1000 // window_s
                for address in sorted(verdict.vouching)
            )
            if verdict
            else ()
        )
        measured[node_id] = Measured(
            too_slow=node_id in slow,
            delivered_kbit=delivered,
            fails_viewers=bool(verdict and verdict.fails_viewers),
        )
    return measured
