"""Viewer evidence: which relays fail the real viewers they are given, by their own beacons.

A viewer *complains* about a relay when, within `WINDOW`, at least `MIN_FAILED` of its segment
loads from that relay failed (or took over `SLOW_SEGMENT_MS`, which stalls playback) and no more
loads worked than failed, while the same viewer's loads from other pathways (other relays or the
origin) mostly worked: a viewer whose own network is broken fails everywhere and accuses nobody.
A viewer *vouches* for a relay when most of its loads (at least `MIN_FAILED`) from it worked.

A relay *fails its viewers* when complaints come from at least `MIN_ADDRESSES` distinct viewer
addresses (IPv4, or IPv6 /64) and from more addresses than vouch for it. Each address counts once
however many report tokens it fetched, and each token once however many addresses replay it.
That verdict takes the relay out of `/watch` at once (reversible: it ends when the window slides
past the complaints) and asks for peer audits of it; losing credit needs corroboration by a failed
probe or peer audit in the same window (see `audits.py`), so a few false reports never cost an
honest node money.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.storage.models import ViewerReport

__all__ = [
    "MIN_ADDRESSES",
    "MIN_FAILED",
    "SLOW_SEGMENT_MS",
    "WINDOW",
    "ReportRow",
    "ViewerVerdict",
    "judge_viewers",
    "viewer_verdicts",
]

WINDOW: Final = timedelta(minutes=2)
MIN_FAILED: Final = 2
MIN_ADDRESSES: Final = 3
SLOW_SEGMENT_MS: Final = 4_000


@dataclass(frozen=True, slots=True)
class ReportRow:
    """Summed outcomes of one viewer (token `viewer`, from `address`) on one pathway."""

    viewer: str
    address: str
    node_id: str | None
    ok: int
    failed: int
    bytes: int = 0
    ms: int = 0


@dataclass
class ViewerVerdict:
    """What the viewers said about one relay within the window."""

    complaining: set[str] = field(default_factory=set)
    vouching: set[str] = field(default_factory=set)
    delivered: dict[str, int] = field(default_factory=dict)  # address -> bytes of loads that worked
    bytes: int = 0
    ms: int = 0

    @property
    def fails_viewers(self) -> bool:
        """Whether enough distinct addresses, more than vouch for it, say it failed them."""
        return len(self.complaining) >= MIN_ADDRESSES and len(self.complaining) > len(self.vouching)


def judge_viewers(rows: Iterable[ReportRow]) -> dict[str, ViewerVerdict]:
    """Return each reported relay's verdict from the viewers' summed outcomes."""
    per_viewer: dict[str, dict[str | None, list[int]]] = defaultdict(dict)
    addresses: dict[str, str] = {}
    for row in rows:
        sums = per_viewer[row.viewer].setdefault(row.node_id, [0, 0, 0, 0])
        sums[0] += row.ok
        sums[1] += row.failed
        sums[2] += row.bytes
        sums[3] += row.ms
        addresses.setdefault(row.viewer, row.address)
    complaints: dict[str, dict[str, int]] = defaultdict(dict)  # node -> address -> viewers
    verdicts: dict[str, ViewerVerdict] = defaultdict(ViewerVerdict)
    for viewer, pathways in per_viewer.items():
        address = addresses[viewer]
        for node_id, (ok, failed, size, ms) in pathways.items():
            if node_id is None:
                continue
            verdict = verdicts[node_id]
            verdict.delivered[address] = verdict.delivered.get(address, 0) + size
            verdict.bytes += size
            verdict.ms += ms
            if failed >= MIN_FAILED and failed >= ok:
                elsewhere_ok = sum(v[0] for k, v in pathways.items() if k != node_id)
                elsewhere_failed = sum(v[1] for k, v in pathways.items() if k != node_id)
                if elsewhere_ok >= MIN_FAILED and elsewhere_ok > elsewhere_failed:
                    complaints[node_id][address] = complaints[node_id].get(address, 0) + 1
            elif ok >= MIN_FAILED and ok > failed:
                verdict.vouching.add(address)
    for node_id, by_address in complaints.items():
        verdicts[node_id].complaining = set(by_address)
    for verdict in verdicts.values():
        verdict.vouching -= verdict.complaining  # an address on both sides counts once, against
    return dict(verdicts)


async def viewer_verdicts(
    session: AsyncSession, stream_id: int, node_ids: Sequence[str], now: datetime
) -> dict[str, ViewerVerdict]:
    """Judge `node_ids` from the stream's viewer reports within `WINDOW` before `now`.

    Only viewers that reported on one of `node_ids` are read, with all their pathways.
    """
    if not node_ids:
        return {}
    since = now - WINDOW
    viewers = (
        select(ViewerReport.viewer)
        .where(
            ViewerReport.node_id.in_(list(node_ids)),
            ViewerReport.at >= since,
            ViewerReport.stream_id == stream_id,
        )
        .distinct()
    )
    rows = await session.execute(
        select(
            ViewerReport.viewer,
            func.min(ViewerReport.address),
            ViewerReport.node_id,
            func.sum(ViewerReport.ok_count),
            func.sum(ViewerReport.fail_count),
            func.sum(ViewerReport.bytes),
            func.sum(ViewerReport.ms),
        )
        .where(
            ViewerReport.viewer.in_(viewers),
            ViewerReport.at >= since,
            ViewerReport.stream_id == stream_id,
        )
        .group_by(ViewerReport.viewer, ViewerReport.node_id)
    )
    wanted = set(node_ids)
    judged = judge_viewers(
        ReportRow(v, a, n, int(ok or 0), int(bad or 0), int(b or 0), int(ms or 0))
        for v, a, n, ok, bad, b, ms in rows.all()
    )
    return {node_id: verdict for node_id, verdict in judged.items() if node_id in wanted}
