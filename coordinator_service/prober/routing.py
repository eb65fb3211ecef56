"""Pick where a viewer of a stream goes: healthy nodes with spare capacity, else the origin.

`eligible_relays` lists the nodes a viewer may be sent to (none while the stream is not live,
`origin.is_live`): active (not banned), not flagged,
heard from within the heartbeat grace, reporting the stream live within it, with an http(s)
relay URL, whose latest probe in the last `UNREACHABLE_WINDOW` did not fail, that its viewers do
not report failing (`evidence.py`), and with spare viewer slots: the claim
(`capacity_kbit // slot bitrate − viewers`, the slot bitrate being the stream's lowest variant as
measured at the origin (`bitrate.py`, the figure the ledger's slot rule pays by) or `VIEWER_KBIT`
while none was measured, where `viewers` leaves out the clients our own probes
look like: a relay counts each player shape a probe used within `PROBE_VIEWER_WINDOW` as a
viewer), none when peer audits measured it too slow, bounded to twice the median weight until
its deliveries to viewers justify more (`capacity.py`); not unprobed (a relay URL taken at
registration or by a heartbeat counts only once a probe there passed), and one node per address
probed lately (`prober/identity.py`) unless the host approved more for that address: the one
the period's payout credits stays (`tally.ranked_for_credit`: most passed probes since the last
payout, then the earliest registered), so viewers go to the node that is paid.
`pick_pathways` draws N of them for one viewer, each draw proportional to weight without
replacement. `watch_target` is the legacy single redirect: one draw, else the origin.

Relay URLs leave here as scheme://host[:port] only: whatever path or query a node heartbeats is
dropped, so no coordinator answer sends a viewer to a node-chosen path.
"""

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.errors import NotFoundError
from coordinator_service.ledger.credit import as_utc
from coordinator_service.ledger.earnings import current_period_start
from coordinator_service.ledger.tally import address_groups, probed_addresses, ranked_for_credit
from coordinator_service.prober.bitrate import current_slot_kbit
from coordinator_service.prober.capacity import bounded_weights, measure, slots
from coordinator_service.prober.origin import is_live
from coordinator_service.prober.players import PLAYERS
from coordinator_service.services.nodes import ACTIVE
from coordinator_service.storage.models import (
    AddressApproval,
    Node,
    Probe,
    RelayEndpoint,
    Stream,
    UptimeInterval,
)
from streamr_protocol.relay_url import relay_origin

__all__ = [
    "UNREACHABLE_WINDOW",
    "VIEWER_KBIT",
    "RelayCandidate",
    "canonical_relay_base",
    "eligible_relays",
    "pick_pathways",
    "relay_playlist_url",
    "watch_target",
]

VIEWER_KBIT = 2_000
UNREACHABLE_WINDOW = timedelta(minutes=15)
PROBE_VIEWER_WINDOW = timedelta(seconds=30)  # how long a relay counts a client as a viewer


@dataclass(frozen=True, slots=True)
class RelayCandidate:
    """A node a viewer may be sent to; `relay_url` is scheme://host[:port], weight > 0."""

    node_id: str
    relay_url: str
    weight: int


def canonical_relay_base(relay_url: str) -> str | None:
    """Return scheme://host[:port] of an http(s) relay URL (path, query dropped), else None."""
    try:
        return relay_origin(relay_url)
    except ValueError:  # RelayUrlError included: not an http(s) URL with a host
        return None


def relay_playlist_url(relay_base: str, stream_name: str, playlist: str | None = None) -> str:
    """Return the URL of a stream's playlist (its master, or `playlist`) on a relay."""
    path = f"{stream_name}.m3u8" if playlist is None else f"{stream_name}/{playlist}"
    return f"{relay_base}/live/{path}"


async def eligible_relays(
    session: AsyncSession, stream_name: str, now: datetime, grace: timedelta
) -> tuple[Stream, list[RelayCandidate]]:
    """Return the stream and the nodes a viewer may be sent to (sorted by node id)."""
    stream = await session.scalar(select(Stream).where(Stream.name == stream_name))
    if stream is None:
        raise NotFoundError(f"there is no stream named {stream_name!r}", code="unknown_stream")
    if not is_live(stream):  # no viewer goes to a node relaying an ended stream's last segments
        return stream, []
    since = now - grace
    relaying = exists().where(
        UptimeInterval.node_id == Node.id,
        UptimeInterval.stream_id == stream.id,
        UptimeInterval.ended_at >= since,
    )
    rows = (
        await session.execute(
            select(Node.id, Node.relay_url, Node.capacity_kbit, Node.viewers)
            .where(
                Node.status == ACTIVE,
                Node.flagged.is_(False),
                Node.last_heartbeat_at >= since,
                Node.relay_url != "",
                relaying,
            )
            .order_by(Node.id)
        )
    ).all()
    if not rows:
        return stream, []
    ids = [row[0] for row in rows]
    failing, probed = await _probe_history(session, ids, now)
    failing |= await _unprobed(session, ids)
    measured = await measure(session, stream.id, ids, now)
    slot_kbit = await current_slot_kbit(session, stream.id) or VIEWER_KBIT
    weights: dict[str, int] = {}
    bases: dict[str, str] = {}
    for node_id, relay_url, capacity, viewers in rows:
        base = canonical_relay_base(relay_url)
        if node_id in failing or base is None or measured[node_id].fails_viewers:
            continue
        bases[node_id] = base
        # the relay counts our own probes (shaped like players) among its viewers for a while
        viewers = max(0, viewers - probed[node_id])
        weights[node_id] = slots(capacity, viewers, measured[node_id], slot_kbit)
    bounded = bounded_weights(weights, measured, slot_kbit)
    candidates = [
        RelayCandidate(node_id=node_id, relay_url=bases[node_id], weight=weight)
        for node_id, weight in bounded.items()
        if weight > 0
    ]
    return stream, await _one_per_address(session, stream.id, candidates, now)


async def _unprobed(session: AsyncSession, node_ids: list[str]) -> set[str]:
    """Return the nodes whose latest relay URL has no passed probe since they took it."""
    latest: dict[str, tuple[datetime, str]] = {}
    for node_id, started_at, relay_url in await session.execute(
        select(RelayEndpoint.node_id, RelayEndpoint.started_at, RelayEndpoint.relay_url)
        .where(RelayEndpoint.node_id.in_(node_ids))
        .order_by(RelayEndpoint.started_at, RelayEndpoint.id)
    ):
        latest[node_id] = (started_at, relay_url)
    if not latest:
        return set()
    newest_pass: dict[tuple[str, str], datetime] = {}
    for node_id, relay_url, at in await session.execute(
        select(Probe.node_id, Probe.relay_url, func.max(Probe.at))
        .where(
            Probe.node_id.in_(sorted(latest)),
            Probe.ok,
            Probe.at >= min(started for started, _ in latest.values()),
        )
        .group_by(Probe.node_id, Probe.relay_url)
    ):
        newest_pass[(node_id, relay_url)] = as_utc(at)
    unprobed = set()
    for node_id, (started_at, relay_url) in latest.items():
        passes = [newest_pass.get((node_id, url)) for url in (relay_url, "")]
        if not any(at is not None and at >= as_utc(started_at) for at in passes):
            unprobed.add(node_id)
    return unprobed


async def _one_per_address(
    session: AsyncSession, stream_id: int, candidates: list[RelayCandidate], now: datetime
) -> list[RelayCandidate]:
    """Drop all but one candidate per address probed lately, unless the host approved more."""
    if len(candidates) < 2:
        return candidates
    keys, _ = await probed_addresses(
        session, {c.node_id for c in candidates}, now - UNREACHABLE_WINDOW, now + UNREACHABLE_WINDOW
    )
    approvals = dict(
        (
            await session.execute(
                select(AddressApproval.address, AddressApproval.max_nodes).where(
                    AddressApproval.stream_id == stream_id
                )
            )
        ).all()
    )
    dropped: set[str] = set()
    period_start: datetime | None = None
    for group, group_keys in address_groups(keys):
        allowed = max((approvals.get(k, 1) for k in group_keys), default=1)
        if len(group) <= allowed:
            continue
        if period_start is None:
            period_start = await current_period_start(session, now)
        ranked = await ranked_for_credit(session, group, period_start, now)
        dropped.update(ranked[max(1, allowed) :])
    return [c for c in candidates if c.node_id not in dropped]


def pick_pathways(
    candidates: Sequence[RelayCandidate], count: int, rnd: random.Random | None = None
) -> list[RelayCandidate]:
    """Draw up to `count` distinct candidates, each draw proportional to weight."""
    rnd = rnd or random.SystemRandom()
    pool = [c for c in candidates if c.weight > 0]
    chosen: list[RelayCandidate] = []
    while pool and len(chosen) < count:
        pick = rnd.choices(range(len(pool)), weights=[c.weight for c in pool])[0]
        chosen.append(pool.pop(pick))
    return chosen


async def watch_target(
    session: AsyncSession,
    stream_name: str,
    now: datetime,
    grace: timedelta,
    rnd: random.Random | None = None,
) -> str:
    """Return the one playlist URL a viewer of `stream_name` is redirected to (legacy)."""
    stream, candidates = await eligible_relays(session, stream_name, now, grace)
    picked = pick_pathways(candidates, 1, rnd)
    if picked:
        return relay_playlist_url(picked[0].relay_url, stream.name)
    return stream.origin_url


async def _probe_history(
    session: AsyncSession, node_ids: list[str], now: datetime
) -> tuple[set[str], Counter[str]]:
    """Return the nodes whose latest probe in `UNREACHABLE_WINDOW` failed, and per node how
    many viewers our own recent probes may count as (one per player shape, within the window
    a relay counts a viewer)."""
    rows = await session.execute(
        select(Probe.node_id, Probe.ok, Probe.at)
        .where(Probe.node_id.in_(node_ids), Probe.at >= now - UNREACHABLE_WINDOW)
        .order_by(Probe.node_id, Probe.at.desc(), Probe.id.desc())
    )
    latest: dict[str, bool] = {}
    probed: Counter[str] = Counter()
    recent = now - PROBE_VIEWER_WINDOW
    for node_id, ok, at in rows.all():
        latest.setdefault(node_id, ok)
        if as_utc(at) >= recent and probed[node_id] < len(PLAYERS):
            probed[node_id] += 1
    return {node_id for node_id, ok in latest.items() if not ok}, probed
