"""Viewer slots from measurements, not claims: the weights `/watch` draws relays by.

A relay's slots start from its claim (`capacity_kbit // VIEWER_KBIT − viewers`, the spare slots it
says it has). When the coordinator has measured it — the median download rate of its recent peer
audits or the rate its real viewers reported, whichever is higher (a viewer's own slow link
must not cost the relay) — the claim is cut to what was measured
(`measured_kbit // VIEWER_KBIT`). Then no relay may hold more than `SHARE_BOUND` × the median
weight of the relays on offer, unless its viewers justify more: the distinct viewer addresses that
vouched for it lately (`evidence.py`), times `SHARE_BOUND`. So a claim of 10,000,000 kbit weighs
at most twice a typical friend's until real viewers show it serves that many.
"""

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.prober.evidence import viewer_verdicts
from coordinator_service.storage.models import PeerAudit

__all__ = [
    "RATE_WINDOW",
    "SHARE_BOUND",
    "Measured",
    "audit_rates",
    "bounded_weights",
    "measure",
    "slots",
]

SHARE_BOUND: Final = 2
RATE_WINDOW: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Measured:
    """What the coordinator measured of one relay: a download rate and viewers served well."""

    kbit_per_s: float | None = None
    vouching_addresses: int = 0
    fails_viewers: bool = False


def slots(claim_kbit: int, viewers: int, measured: Measured, viewer_kbit: int) -> int:
    """Return the spare viewer slots of a relay: its claim, cut to its measured rate."""
    kbit = claim_kbit
    if measured.kbit_per_s is not None:
        kbit = min(kbit, int(measured.kbit_per_s))
    return max(0, kbit // viewer_kbit - viewers)


def bounded_weights(weights: Mapping[str, int], measured: Mapping[str, Measured]) -> dict[str, int]:
    """Cap each weight at `SHARE_BOUND` × the median positive weight (or what viewers justify)."""
    positive: Sequence[int] = [w for w in weights.values() if w > 0]
    if not positive:
        return dict(weights)
    median = statistics.median(positive)
    bounded = {}
    for node_id, weight in weights.items():
        vouched = measured.get(node_id, Measured()).vouching_addresses
        cap = max(SHARE_BOUND * median, SHARE_BOUND * vouched, 1)
        bounded[node_id] = min(weight, int(cap))
    return bounded


async def audit_rates(
    session: AsyncSession, node_ids: Sequence[str], now: datetime
) -> dict[str, float]:
    """Return each node's median download rate (kbit/s) in its recent answered audits."""
    if not node_ids:
        return {}
    rows = await session.execute(
        select(PeerAudit.node_id, PeerAudit.bytes, PeerAudit.total_ms).where(
            PeerAudit.node_id.in_(list(node_ids)),
            PeerAudit.reported_at >= now - RATE_WINDOW,
            PeerAudit.bytes > 0,
            PeerAudit.total_ms > 0,
        )
    )
    rates: dict[str, list[float]] = {}
    for node_id, size, ms in rows.all():
        rates.setdefault(node_id, []).append((size or 0) * 8 / (ms or 1))
    return {node_id: statistics.median(values) for node_id, values in rates.items()}


async def measure(
    session: AsyncSession, stream_id: int, node_ids: Sequence[str], now: datetime
) -> dict[str, Measured]:
    """Return what was measured of each node: audit and viewer rates, viewers' verdict."""
    rates = await audit_rates(session, node_ids, now)
    verdicts = await viewer_verdicts(session, stream_id, node_ids, now)
    measured = {}
    for node_id in node_ids:
        verdict = verdicts.get(node_id)
        found = [r for r in (rates.get(node_id), verdict and verdict.kbit_per_s) if r]
        measured[node_id] = Measured(
            kbit_per_s=max(found) if found else None,
            vouching_addresses=len(verdict.vouching) if verdict else 0,
            fails_viewers=bool(verdict and verdict.fails_viewers),
        )
    return measured
