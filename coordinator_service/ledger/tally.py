"""Credited seconds of every node per stream for a period, read with a few range queries.

Only rows overlapping the period are fetched, as whole epoch seconds computed by the database
(no datetime parsing per row), then `credit.py` does the interval arithmetic in memory.

Banned nodes are credited nothing. Only verified time is credited (`verified.py`: not before a
passed probe at the node's relay URL, not after a failed one until one passes, and back to the last
passed probe when one finds cheating). Time without a viewer slot is not credited (`slots.py`: the
node's upload capacity was under the stream's slot bitrate then; traced before flags and failed
probes, which a capped relay also causes, so the friend is told the cause they can fix). One share
per address: nodes whose passed probes in the period reached the same address
(`prober/identity.address_key`: a public IPv4 address, a public IPv6 /64, or a private address and
port) are one person's, so at most one of them is credited per stream unless the host approved more
for that address (`AddressApproval`): the one with the most passed probes in the period (ties: the
earliest registered, then the smallest id). The address is what was probed during the period, never
the node's current URL, so nothing a node says after a period changes that period's payout.

Given a `CreditTrace`, every rule also writes down the seconds it took from each node, with its
reason: `ledger/explain.py` shows that to the host, so the page and the payout can never
disagree. A new rule takes time away in one place here and notes it with `trace.take`.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    cast,
    extract,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from coordinator_service.ledger.credit import (
    Span,
    clip,
    intersect_merged,
    merge,
    subtract_merged,
    to_seconds,
    total,
)
from coordinator_service.ledger.pool_history import PoolPart, load_rates, pool_parts
from coordinator_service.ledger.slots import load_levels, no_slot_spans
from coordinator_service.ledger.verified import Check, UrlTaken, unverified_spans
from coordinator_service.prober.identity import address_key
from coordinator_service.services.nodes import BANNED
from coordinator_service.storage.models import (
    AddressApproval,
    FlagInterval,
    Node,
    Probe,
    RelayEndpoint,
    Stream,
    StreamLiveInterval,
    UptimeInterval,
)

__all__ = [
    "AddressGroup",
    "BANNED_BY_HOST",
    "CreditTrace",
    "FLAGGED",
    "NOT_LIVE",
    "NO_SLOT",
    "NodeInfo",
    "SHARED_RELAY",
    "UNVERIFIED",
    "VERIFY_LOOKBACK",
    "address_groups",
    "StreamTally",
    "Tally",
    "epoch_seconds",
    "live_spans",
    "probed_addresses",
    "tally",
    "unverified_by_node",
]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What a payout line keeps of a node, as of the computation."""

    node_id: str
    display_name: str
    payout_handle: str
    anonymous: bool
    relay_url: str


@dataclass(slots=True)
class StreamTally:
    """One stream's live seconds in the period and each node's credited seconds."""

    stream_id: int
    name: str
    currency: str
    pool_per_hour_minor: int
    live_seconds: int
    credited: dict[str, int] = field(default_factory=dict)
    parts: list[PoolPart] | None = None  # the live seconds at each rate (pool_history.py)

    @property
    def pool_minor(self) -> int:
        """Return `floor(Σ pool_per_hour × live_seconds / 3600)`, or 0 if nobody was credited."""
        if not any(self.credited.values()):
            return 0
        if self.parts is None:
            return self.pool_per_hour_minor * self.live_seconds // 3600
        return sum(p.pool_per_hour_minor * p.live_seconds for p in self.parts) // 3600

    @property
    def currencies(self) -> list[str]:
        """The currencies the live seconds of the period were paid in (one, normally)."""
        if self.parts is None:
            return [self.currency]
        return sorted({p.currency for p in self.parts}) or [self.currency]


@dataclass(slots=True)
class Tally:
    """Credited time of a period, per stream, with the nodes it names."""

    start: int
    end: int
    streams: list[StreamTally]
    nodes: dict[str, NodeInfo]


NOT_LIVE = "relaying while the stream was not live"
FLAGGED = "flagged by failed probes"
BANNED_BY_HOST = "banned by the host"
SHARED_RELAY = "another node on the same relay address was credited"
UNVERIFIED = "not verified by a passed probe"
NO_SLOT = "no viewer slot: upload cap under the stream's bitrate"
# how far before a period its probes and relay URL changes are read (see `verified.py`)
VERIFY_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class AddressGroup:
    """Nodes of one stream credited in the period whose passed probes reached one address.

    `node_ids` ranked as the one-share rule ranks them (the first is kept by default),
    `keys` the address keys they share, `allowed` how many may be credited (1 unless the host
    approved more), `credited` those that were.
    """

    stream_id: int
    node_ids: list[str]
    keys: list[str]
    allowed: int
    credited: list[str]


@dataclass
class CreditTrace:
    """What each rule of a tally took from each node (seconds of the period, per reason).

    `relayed`: each node's seconds relaying the tallied streams in the period, before any rule;
    `lost`: node -> reason -> seconds taken; `shared`: node -> (relay `host:port`, the other
    node ids on it) for nodes that share one relay address; `slot_needs_kbit`: node -> the
    upload cap (kbit/s) that would have given it a viewer slot, for nodes that lost time to
    `NO_SLOT` (the highest slot bitrate among those spans); `groups`: every group of nodes
    sharing an address per stream, approved or not.
    """

    relayed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lost: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    shared: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    slot_needs_kbit: dict[str, int] = field(default_factory=dict)
    groups: list[AddressGroup] = field(default_factory=list)

    def take(self, node_id: str, reason: str, seconds: int) -> None:
        """Note that a rule took `seconds` from a node."""
        if seconds > 0:
            lost = self.lost[node_id]
            lost[reason] = lost.get(reason, 0) + seconds


def epoch_seconds(
    session: AsyncSession,
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(extract("epoch", column)), BigInteger)


async def live_spans(
    session: AsyncSession, stream_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[Span]]:
    """Return each stream's live intervals overlapping [start, end), merged, in epoch seconds."""
    live: dict[int, list[Span]] = defaultdict(list)
    rows = await session.execute(
        select(
            StreamLiveInterval.stream_id,
            epoch_seconds(session, StreamLiveInterval.started_at),
            epoch_seconds(session, StreamLiveInterval.ended_at),
        ).where(
            StreamLiveInterval.stream_id.in_(stream_ids),
            StreamLiveInterval.ended_at > start,
            StreamLiveInterval.started_at < end,
        )
    )
    for sid, first, last in rows:
        live[sid].append((int(first), int(last)))
    return {sid: merge(spans) for sid, spans in live.items()}


async def tally(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    stream_ids: Sequence[int] | None,
    trace: CreditTrace | None = None,
    *,
    node_ids: Collection[str] | None = None,
) -> Tally:
    """Compute credited seconds of every node for each stream in `stream_ids` (None: all).

    With `trace`, also note what each rule took from each node, and why. With `node_ids`, only
    those nodes' (every rule but one share per address looks at one node alone; that one
    groups the given nodes only).
    """
    lo, hi = to_seconds(start), to_seconds(end)
    stream_query = select(
        Stream.id, Stream.name, Stream.currency, Stream.pool_per_hour_minor
    ).order_by(Stream.id)
    if stream_ids is not None:
        stream_query = stream_query.where(Stream.id.in_(stream_ids))
    streams = [
        StreamTally(sid, name, currency, pool, 0)
        for sid, name, currency, pool in (await session.execute(stream_query)).all()
    ]
    if not streams:
        return Tally(lo, hi, [], {})
    wanted = [stream.stream_id for stream in streams]

    live_merged = await live_spans(session, wanted, start, end)

    uptime: dict[tuple[str, int], list[Span]] = defaultdict(list)
    uptime_rows = await session.execute(
        select(
            UptimeInterval.node_id,
            UptimeInterval.stream_id,
            epoch_seconds(session, UptimeInterval.started_at),
            epoch_seconds(session, UptimeInterval.ended_at),
        ).where(
            UptimeInterval.stream_id.in_(wanted),
            UptimeInterval.ended_at > start,
            UptimeInterval.started_at < end,
            true() if node_ids is None else UptimeInterval.node_id.in_(sorted(node_ids)),
        )
    )
    for node_id, maybe_sid, s, e in uptime_rows:
        if maybe_sid is not None:
            uptime[(node_id, maybe_sid)].append((s, e))

    flags: dict[str, list[Span]] = defaultdict(list)
    flag_rows = await session.execute(
        select(
            FlagInterval.node_id,
            epoch_seconds(session, FlagInterval.started_at),
            epoch_seconds(session, FlagInterval.ended_at),
        ).where(
            or_(FlagInterval.ended_at.is_(None), FlagInterval.ended_at > start),
            FlagInterval.started_at < end,
        )
    )
    for node_id, s, e in flag_rows:
        flags[node_id].append((s, hi if e is None else e))

    by_id = {stream.stream_id: stream for stream in streams}
    rates = await load_rates(session, wanted)
    for stream in streams:
        stream.live_seconds = total(clip(live_merged.get(stream.stream_id, []), lo, hi))
        if stream.stream_id in rates:
            history = rates[stream.stream_id]
            stream.parts = pool_parts(live_merged.get(stream.stream_id, []), history, lo, hi)
            in_force = [r for r in history if r.start < hi] or history[:1]
            stream.pool_per_hour_minor = in_force[-1].pool_per_hour_minor
            paid_in = {p.currency for p in stream.parts}
            stream.currency = paid_in.pop() if len(paid_in) == 1 else in_force[-1].currency
    live_in_period = {sid: clip(spans, lo, hi) for sid, spans in live_merged.items()}
    flags_merged = {node_id: merge(spans) for node_id, spans in flags.items()}
    relaying = {node_id for node_id, _ in uptime}
    unverified = await unverified_by_node(session, relaying, start, end)
    capacities, bitrates = await load_levels(session, relaying, wanted, end)
    for (node_id, sid), spans in uptime.items():
        # credited_seconds(), with the stream's and the flags' spans merged once
        relayed = merge(spans)
        got = intersect_merged(relayed, live_in_period.get(sid, []))
        if trace is not None:
            in_period = total(clip(relayed, lo, hi))
            trace.relayed[node_id] += in_period
            trace.take(node_id, NOT_LIVE, in_period - total(got))
        # no slot before the probes' rules: a relay capped under the bitrate fails probes too,
        # and the cap is what the friend can fix
        if node_id in capacities and sid in bitrates:
            no_slot = no_slot_spans(capacities[node_id], bitrates[sid], hi)
            before_spans = got
            got = subtract_merged(got, [cut.span for cut in no_slot])
            if trace is not None and total(got) < total(before_spans):
                trace.take(node_id, NO_SLOT, total(before_spans) - total(got))
                needs = max(
                    cut.needs_kbit for cut in no_slot if intersect_merged(before_spans, [cut.span])
                )
                trace.slot_needs_kbit[node_id] = max(trace.slot_needs_kbit.get(node_id, 0), needs)
        if node_id in flags_merged:
            live_seconds = total(got)
            got = subtract_merged(got, flags_merged[node_id])
            if trace is not None:
                trace.take(node_id, FLAGGED, live_seconds - total(got))
        if node_id in unverified:
            before = total(got)
            got = subtract_merged(got, unverified[node_id])
            if trace is not None:
                trace.take(node_id, UNVERIFIED, before - total(got))
        seconds = sum(end - start for start, end in got)
        if seconds > 0:
            by_id[sid].credited[node_id] = seconds

    credited_ids = {node_id for stream in streams for node_id in stream.credited}
    nodes = await _node_infos(session, credited_ids)
    for stream in streams:  # banned nodes earn nothing
        if trace is not None:
            for node_id, seconds in stream.credited.items():
                if node_id not in nodes:
                    trace.take(node_id, BANNED_BY_HOST, seconds)
        stream.credited = {n: s for n, s in stream.credited.items() if n in nodes}
    await _credit_one_per_address(session, streams, start, end, trace)
    return Tally(lo, hi, streams, nodes)


async def _node_infos(session: AsyncSession, node_ids: set[str]) -> dict[str, NodeInfo]:
    if not node_ids:
        return {}
    rows = await session.execute(
        select(
            Node.id, Node.display_name, Node.payout_handle, Node.anonymous, Node.relay_url
        ).where(Node.status != BANNED)
    )
    return {row[0]: NodeInfo(*row) for row in rows if row[0] in node_ids}


async def unverified_by_node(
    session: AsyncSession, node_ids: set[str], start: datetime, end: datetime
) -> dict[str, list[Span]]:
    """Return each node's unverified spans before `end` (see `verified.py`)."""
    if not node_ids:
        return {}
    since = start - VERIFY_LOOKBACK
    checks: dict[str, list[Check]] = defaultdict(list)
    taken: dict[str, list[UrlTaken]] = defaultdict(list)
    wanted = sorted(node_ids)
    for node_id, at, ok, reason, relay_url in await session.execute(
        select(
            Probe.node_id, epoch_seconds(session, Probe.at), Probe.ok, Probe.reason, Probe.relay_url
        ).where(Probe.node_id.in_(wanted), Probe.at >= since, Probe.at < end)
    ):
        checks[node_id].append(Check(int(at), bool(ok), reason, relay_url))
    for node_id, at, relay_url in await session.execute(
        select(
            RelayEndpoint.node_id,
            epoch_seconds(session, RelayEndpoint.started_at),
            RelayEndpoint.relay_url,
        ).where(
            RelayEndpoint.node_id.in_(wanted),
            RelayEndpoint.started_at >= since,
            RelayEndpoint.started_at < end,
        )
    ):
        taken[node_id].append(UrlTaken(int(at), relay_url))
    hi = to_seconds(end)
    result = {}
    for node_id in set(checks) | set(taken):
        spans = unverified_spans(checks.get(node_id, []), taken.get(node_id, []), hi)
        if spans:
            result[node_id] = spans
    return result


async def _credit_one_per_address(
    session: AsyncSession,
    streams: list[StreamTally],
    start: datetime,
    end: datetime,
    trace: CreditTrace | None = None,
) -> None:
    """Keep one credited node per stream and address probed in the period (unless approved)."""
    credited = {node_id for stream in streams for node_id in stream.credited}
    if len(credited) < 2:
        return
    keys, passed = await probed_addresses(session, credited, start, end)
    if not keys:
        return
    registered = dict(
        (await session.execute(select(Node.id, Node.created_at).where(Node.id.in_(keys)))).all()
    )
    approvals = {
        (sid, address): max_nodes
        for sid, address, max_nodes in await session.execute(
            select(AddressApproval.stream_id, AddressApproval.address, AddressApproval.max_nodes)
        )
    }
    for stream in streams:
        for group, group_keys in address_groups({n: keys[n] for n in stream.credited if n in keys}):
            allowed = max((approvals.get((stream.stream_id, k), 1) for k in group_keys), default=1)
            ranked = credit_rank(group, passed, registered)
            kept = ranked[: max(1, allowed)]
            if trace is not None:
                trace.groups.append(
                    AddressGroup(stream.stream_id, ranked, sorted(group_keys), allowed, kept)
                )
            if len(group) <= allowed:
                continue
            for node_id in ranked[len(kept) :]:
                taken = stream.credited.pop(node_id, 0)
                if trace is not None:
                    trace.take(node_id, SHARED_RELAY, taken)
            if trace is not None:
                where = ", ".join(sorted(group_keys))
                for node_id in group:
                    trace.shared[node_id] = (where, [o for o in group if o != node_id])


def credit_rank(
    group: Iterable[str], passed: Mapping[str, int], registered: Mapping[str, datetime]
) -> list[str]:
    """Nodes at one address in the order the one-share rule credits them: the most passed
    probes in the period first, then the earliest registered."""
    return sorted(group, key=lambda n: (-passed.get(n, 0), to_seconds(registered[n]), n))


async def ranked_for_credit(
    session: AsyncSession, group: Iterable[str], start: datetime, end: datetime
) -> list[str]:
    """`group` in the one-share rule's order for the period [start, end) (routing asks this,
    so viewers go to the node a payout of the period credits)."""
    wanted = set(group)
    _, passed = await probed_addresses(session, wanted, start, end)
    registered = dict(
        (await session.execute(select(Node.id, Node.created_at).where(Node.id.in_(wanted)))).all()
    )
    return credit_rank(wanted, passed, registered)


async def probed_addresses(
    session: AsyncSession, node_ids: set[str] | None, start: datetime, end: datetime
) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Return each node's (None: every node's) address keys of passed probes in [start, end),
    and its passes."""
    keys: dict[str, set[str]] = defaultdict(set)
    passed: dict[str, int] = defaultdict(int)
    wanted = [Probe.ok, Probe.address != "", Probe.at >= start, Probe.at < end]
    if node_ids is not None:
        wanted.append(Probe.node_id.in_(sorted(node_ids)))
    for node_id, address, count in await session.execute(
        select(Probe.node_id, Probe.address, func.count())
        .where(and_(*wanted))
        .group_by(Probe.node_id, Probe.address)
    ):
        key = address_key(address)
        if key:
            keys[node_id].add(key)
        passed[node_id] += int(count)
    return dict(keys), passed


def address_groups(keys: dict[str, set[str]]) -> list[tuple[list[str], set[str]]]:
    """Group nodes that share any address key (transitively): [(node ids, their keys)]."""
    owner: dict[str, str] = {}
    parent: dict[str, str] = {n: n for n in keys}

    def root(node_id: str) -> str:
        while parent[node_id] != node_id:
            parent[node_id] = parent[parent[node_id]]
            node_id = parent[node_id]
        return node_id

    for node_id in sorted(keys):
        for key in sorted(keys[node_id]):
            other = owner.setdefault(key, node_id)
            parent[root(node_id)] = root(other)
    groups: dict[str, list[str]] = defaultdict(list)
    for node_id in sorted(keys):
        groups[root(node_id)].append(node_id)
    return [
        (members, set().union(*(keys[n] for n in members)))
        for members in groups.values()
        if len(members) > 1
    ]
