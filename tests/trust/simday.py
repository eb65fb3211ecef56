"""A simulated day of the coordinator's checks: its real decision code on a seeded lossy network.

The coordinator's own code decides everything — `Prober.probe_due`/`_record` (reputation, flag
intervals), `AuditRunner.step` (assignments, judging, viewer evidence), `record_reports` and
`store_tallies` (what the API routes store), `eligible_relays`/`pick_pathways` (where viewers
go) and `ledger.tally.tally` (credit) — on a real SQLite database, with the clock injected.
Only what would cross the network is simulated, at the smallest seams: a probe's outcome (the
`probe` argument of `Prober`), what an auditor's fetch got (the report it posts), and each
viewer's segment loads (the beacons it posts). Every such fetch independently fails with
probability `LOSS`, half as a timeout, half as a slow segment (over `SLOW_SEGMENT_MS`); posted
reports and beacon batches are lost with the same probability.

Time advances in `TICK_S` steps (the real loops tick every second; a segment is 2 s), so probe
and audit times fall on ticks. Each simulated node heartbeats once per tick at its own phase: it
picks up its audit assignments then (the heartbeat answer carries them) and audits as the node
app does (`desktop_app/core/audit.py`: a random delay under a second, one of the newest three
segments, the report batch a second later); reports are stored at the moment they arrive.
Viewers watch in sessions (mean 20 minutes), each from up to three relays drawn by the real
routing and then the origin; a failed or slow segment moves the player to its next pathway until
the steering manifest (TTL 10 s, so every tick) sends it back to its first eligible one.
"""

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import httpx
from sqlalchemy import select, update

from coordinator_service.ledger.tally import CreditTrace, tally
from coordinator_service.prober.audits import AuditRunner, pending_assignments, record_reports
from coordinator_service.prober.evidence import SLOW_SEGMENT_MS
from coordinator_service.prober.origin import OriginSegment, StreamIndex
from coordinator_service.prober.probe import ProbeConfig, ProbeOutcome, ProbeTarget
from coordinator_service.prober.routing import eligible_relays, pick_pathways
from coordinator_service.prober.scheduler import Prober, ProberSettings
from coordinator_service.prober.viewer_reports import (
    ORIGIN,
    ViewerBatch,
    store_tallies,
    tally_reports,
)
from coordinator_service.storage.db import Database
from coordinator_service.storage.models import (
    FlagInterval,
    Node,
    PeerAudit,
    Probe,
    RelayEndpoint,
    Stream,
    StreamLiveInterval,
    UptimeInterval,
)
from streamr_protocol.models import AuditReport

T0 = datetime(2026, 3, 2, tzinfo=UTC)
DAY_S = 24 * 3600
TICK_S = 60  # two heartbeat intervals: every node beats twice per tick
SEGMENT_S = 2.0
LOSS = 0.10
HEARTBEAT_S = 30  # the coordinator's default heartbeat interval
GRACE_S = HEARTBEAT_S * 2.5  # its default grace: a node reporting a stream counts as relaying
CAPACITY_KBIT = 20_000  # ten viewer slots each
SEGMENT_BYTES = 500_000

Behaviour = Literal["honest", "hash_mismatch", "fails_auditors", "trickle"]


def segment_sha(sequence: int) -> str:
    """The SHA-256 of the origin's segment number `sequence`."""
    return hashlib.sha256(f"origin segment {sequence}".encode()).hexdigest()


@dataclass
class SimNode:
    """One simulated node: honest, or a cheat from `cheat_from` (seconds after T0) on."""

    node_id: str
    index: int
    behaviour: Behaviour = "honest"
    cheat_from: float = 0.0
    beat_phase: float = 0.0
    seen: set[str] = field(default_factory=set)

    @property
    def relay_url(self) -> str:
        return f"http://203.0.113.{self.index + 1}:8430"

    @property
    def address(self) -> str:
        return f"203.0.113.{self.index + 1}:8430"

    def acts(self, t: float) -> Behaviour:
        """How this node's relay behaves at `t` seconds after T0."""
        return self.behaviour if t >= self.cheat_from else "honest"


@dataclass
class SimViewer:
    """One viewer (its own address) watching in sessions; each session gets a new token id."""

    address: str
    token: str = ""
    pathways: list[str] = field(default_factory=list)
    until: float = 0.0


@dataclass(frozen=True, slots=True)
class FlagSeen:
    """A flag span of `node_id` (its reason) and when the simulation first saw it."""

    node_id: str
    reason: str
    seen_at: float  # seconds after T0

    @property
    def costs_credit_only(self) -> bool:
        """A viewers: or slow: span (no credit for a while), not a reputation flag."""
        return self.reason.startswith(("viewers:", "slow:"))


@dataclass
class DayResult:
    """What a simulated day measured."""

    seed: int
    nodes: dict[str, SimNode]
    credited: dict[str, int]
    lost: dict[str, dict[str, int]]
    credited_after_cheat: dict[str, int]
    spans: list["FlagSeen"]
    unwatched_at: dict[str, float]
    reasons: dict[str, set[str]]
    eligible_ticks: dict[str, int]
    ticks: int
    loads: dict[str, int]
    cheat_loads: dict[str, int]
    checks: dict[str, list[tuple[float, bool]]]  # each node's checks: (seconds after T0, passed)


class SimulatedDay:
    """Drive one day with seed `seed`; `run()` returns the measured `DayResult`."""

    def __init__(
        self,
        tmp_path: Path,
        seed: int,
        honest: int = 10,
        cheats: tuple[Behaviour, ...] = ("hash_mismatch", "fails_auditors", "trickle"),
        cheat_from: float = 2 * 3600,
        viewers: int = 12,
        day_s: int = DAY_S,
    ) -> None:
        self.db = Database(f"sqlite+aiosqlite:///{tmp_path / f'day{seed}.db'}")
        self.seed = seed
        self.rnd = random.Random(seed)
        self.net = random.Random(seed * 7919 + 1)  # the network's losses
        self.day_s = day_s
        self.now = T0
        self.nodes: dict[str, SimNode] = {}
        for i in range(honest):
            self.nodes[f"honest{i}"] = SimNode(f"honest{i}", i)
        for j, behaviour in enumerate(cheats):
            self.nodes[behaviour] = SimNode(behaviour, honest + j, behaviour, cheat_from)
        for node in self.nodes.values():
            node.beat_phase = self.rnd.uniform(0, HEARTBEAT_S)
        self.viewers = [SimViewer(f"198.51.100.{i + 1}") for i in range(viewers)]
        self.index = StreamIndex("main")
        self.index.open_session(T0.timestamp())
        self.published = -1
        self.deliveries: list[tuple[float, str, AuditReport]] = []
        self.settings = ProberSettings(relaying_window_s=GRACE_S)
        self.stream_id = 0
        self.spans: dict[int, FlagSeen] = {}
        self.unwatched_at: dict[str, float] = {}
        self.eligible_ticks: dict[str, int] = defaultdict(int)
        self.loads: dict[str, int] = defaultdict(int)
        self.cheat_loads: dict[str, int] = defaultdict(int)  # loads a cheat got while cheating
        self.ticks = 0

    def clock(self) -> datetime:
        return self.now

    @property
    def t(self) -> float:
        return (self.now - T0).total_seconds()

    def lost(self) -> bool:
        return self.net.random() < LOSS

    # --- the origin ------------------------------------------------------------------------

    def publish(self) -> None:
        """Index every segment the origin published up to now (as the origin watcher would)."""
        newest = int(self.t // SEGMENT_S)
        for sequence in range(self.published + 1, newest + 1):
            seen_at = T0.timestamp() + sequence * SEGMENT_S
            segment = OriginSegment(segment_sha(sequence), seen_at, SEGMENT_S, 1, sequence)
            self.index.add(("main", 1, sequence), segment)
        self.published = newest
        current = self.index.current
        assert current is not None
        current.first_seen_at = current.first_seen_at or T0.timestamp()
        current.last_seen_at = T0.timestamp() + newest * SEGMENT_S

    # --- the network seams -----------------------------------------------------------------

    async def probe(
        self,
        client: httpx.AsyncClient,
        target: ProbeTarget,
        index: StreamIndex,
        refresh: object,
        config: ProbeConfig,
        rnd: random.Random,
    ) -> ProbeOutcome:
        """What the coordinator's probe of `target` got, as `probe_node` would report it."""
        node = self.nodes[target.node_id]
        if self.lost():
            return ProbeOutcome("timeout", "simulated loss", 10_000, node.address)
        acts = node.acts(self.t)
        if acts == "hash_mismatch":
            return ProbeOutcome("hash_mismatch", "not an origin segment", 300, node.address)
        if acts == "trickle":  # it cannot tell the probe from a viewer: the probe trickles too
            return ProbeOutcome("timeout", "no complete answer within 10 s", 10_000, node.address)
        return ProbeOutcome("ok", "", 300, node.address)  # honest, or one serving only probes

    def audit(self, assignment_id: str, target: SimNode, at: float) -> AuditReport:
        """What an auditor fetching `target` at `at` reports (`desktop_app/core/audit.py`)."""
        newest = int(at // SEGMENT_S)
        sequence = newest - self.net.randint(0, 2)
        acts = target.acts(at)
        if self.lost():
            if self.net.random() < 0.5:  # no connection within the audit's 10 s
                return AuditReport(id=assignment_id, status=0, error="timeout", total_ms=10_000)
            ms = self.net.randint(SLOW_SEGMENT_MS + 1, 12_000)  # a slow segment
            error = "timeout" if ms >= 10_000 else ""
            return AuditReport(
                id=assignment_id,
                status=200,
                error=error,
                bytes=SEGMENT_BYTES if not error else SEGMENT_BYTES // 3,
                sha256="" if error else segment_sha(sequence),
                ttfb_ms=400,
                total_ms=min(ms, 10_000),
            )
        if acts == "fails_auditors":
            return AuditReport(id=assignment_id, status=404, total_ms=40)
        if acts == "trickle":
            return AuditReport(
                id=assignment_id,
                status=200,
                error="timeout",
                bytes=SEGMENT_BYTES // 20,
                ttfb_ms=300,
                total_ms=10_000,
            )
        sha = segment_sha(sequence)
        if acts == "hash_mismatch":
            sha = hashlib.sha256(f"re-encoded {sequence}".encode()).hexdigest()
        total_ms = self.net.randint(150, 1_500)
        return AuditReport(
            id=assignment_id,
            status=200,
            bytes=SEGMENT_BYTES,
            sha256=sha,
            ttfb_ms=total_ms // 3,
            total_ms=total_ms,
        )

    def load(self, pathway: str) -> tuple[str, bool, int, int]:
        """One viewer segment load from `pathway`: (pathway, ok, bytes, ms) for its beacon."""
        self.loads[pathway] += 1
        if self.lost():
            if self.net.random() < 0.5:
                return pathway, False, 0, 10_000
            return pathway, True, SEGMENT_BYTES, self.net.randint(SLOW_SEGMENT_MS + 1, 9_000)
        acts = self.nodes[pathway].acts(self.t) if pathway != ORIGIN else "honest"
        if acts in ("hash_mismatch", "fails_auditors"):  # undecodable bytes, or a 404
            return pathway, False, 0, 50
        if acts == "trickle":
            return pathway, True, SEGMENT_BYTES, 15_000
        return pathway, True, SEGMENT_BYTES, self.net.randint(150, 1_500)

    # --- the day ---------------------------------------------------------------------------

    async def seed_database(self) -> None:
        """Build the database (migrations: one day at a time) with the stream and the nodes."""
        await self.db.migrate()
        async with self.db.transaction() as session:
            stream = Stream(
                name="main",
                origin_url="http://origin.example:8080/live/main.m3u8",
                pool_per_hour_minor=3600,
                currency="USD",
                created_at=T0,
                live=True,
                live_changed_at=T0,
            )
            session.add(stream)
            await session.flush()
            self.stream_id = stream.id
            session.add(
                StreamLiveInterval(
                    stream_id=stream.id, started_at=T0, ended_at=T0 + timedelta(seconds=self.day_s)
                )
            )
            for node in self.nodes.values():
                session.add(
                    Node(
                        id=node.node_id,
                        token_hash=hashlib.sha256(node.node_id.encode()).hexdigest(),
                        probe_key="k-" + node.node_id,
                        display_name=node.node_id,
                        payout_handle="@" + node.node_id,
                        relay_url=node.relay_url,
                        capacity_kbit=CAPACITY_KBIT,
                        created_at=T0,
                        last_heartbeat_at=T0,
                    )
                )
                await session.flush()
                session.add(
                    RelayEndpoint(node_id=node.node_id, relay_url=node.relay_url, started_at=T0)
                )
                session.add(
                    UptimeInterval(
                        node_id=node.node_id,
                        stream_id=stream.id,
                        started_at=T0,
                        ended_at=T0 + timedelta(seconds=self.day_s),
                    )
                )
            await session.commit()

    async def heartbeats(self, previous: float) -> None:
        """Every node beat since the last tick: the first beat after an audit was assigned to it
        carried it (only auditors given one since the last tick are asked, to save queries)."""
        async with self.db.transaction() as session:
            await session.execute(update(Node).values(last_heartbeat_at=self.now))
            await session.commit()
        if previous < 0:
            return
        async with self.db.session() as session:
            assigned = await session.scalars(
                select(PeerAudit.auditor_id)
                .where(PeerAudit.assigned_at >= T0 + timedelta(seconds=previous))
                .distinct()
            )
            for auditor in [self.nodes[a] for a in sorted(assigned.all())]:
                beat = previous + (auditor.beat_phase - previous) % HEARTBEAT_S
                when = T0 + timedelta(seconds=beat)
                for audit_id, url, _ in await pending_assignments(session, auditor.node_id, when):
                    if audit_id in auditor.seen:
                        continue
                    auditor.seen.add(audit_id)
                    fetch_at = beat + self.rnd.uniform(0, 1.0)
                    report = self.audit(audit_id, self.nodes[self._by_url(url)], fetch_at)
                    if self.lost():
                        continue  # the report's POST was lost: the round goes on without it
                    done = fetch_at + report.total_ms / 1000 + 1.0  # the batch goes out 1 s later
                    self.deliveries.append((done, auditor.node_id, report))

    def _by_url(self, url: str) -> str:
        for node in self.nodes.values():
            if url.startswith(node.relay_url + "/"):
                return node.node_id
        raise AssertionError(f"an audit of an unknown relay: {url}")

    async def deliver_reports(self) -> None:
        due = sorted((d for d in self.deliveries if d[0] <= self.t), key=lambda d: d[0])
        if not due:
            return
        self.deliveries = [d for d in self.deliveries if d[0] > self.t]
        async with self.db.transaction() as session:
            for done, auditor_id, report in due:
                await record_reports(session, auditor_id, [report], T0 + timedelta(seconds=done))
            await session.commit()

    async def watch(self) -> None:
        """Viewers play `TICK_S` of video from their pathways and post what they saw."""
        async with self.db.session() as session:
            _, candidates = await eligible_relays(
                session, "main", self.now, timedelta(seconds=GRACE_S)
            )
        eligible = {c.node_id for c in candidates}
        self.ticks += 1
        for node_id in eligible:
            self.eligible_ticks[node_id] += 1
        for node in self.nodes.values():
            if node.node_id not in eligible and self.t >= node.cheat_from:
                self.unwatched_at.setdefault(node.node_id, self.t)
            elif node.node_id in eligible:
                self.unwatched_at.pop(node.node_id, None)  # back on offer: not out for good
        batches = []
        for viewer in self.viewers:
            if self.t >= viewer.until:  # a new viewing session: a new playlist, a new token
                picked = pick_pathways(candidates, 3, self.rnd)
                viewer.pathways = [c.node_id for c in picked]
                viewer.token = f"{viewer.address}-{self.t:.0f}"
                viewer.until = self.t + self.rnd.expovariate(1 / 1200)
            # the steering manifest: the viewer's relays still eligible, then the origin
            pathways = [p for p in viewer.pathways if p in eligible] + [ORIGIN]
            position = 0
            loads = []
            for segment in range(int(TICK_S / SEGMENT_S)):
                if segment % 5 == 0:
                    position = 0  # a steering reload (TTL 10 s) lifts the penalties
                pathway = pathways[min(position, len(pathways) - 1)]
                loaded = self.load(pathway)
                loads.append(loaded)
                if pathway != ORIGIN and self.t >= self.nodes[pathway].cheat_from > 0:
                    self.cheat_loads[pathway] += 1
                if not loaded[1] or loaded[3] > SLOW_SEGMENT_MS:
                    position += 1  # the player moves on to the next pathway
            if not self.lost():
                batches.append(ViewerBatch(viewer.address, viewer.token, tally_reports(loads)))
        if batches:
            async with self.db.transaction() as session:
                await store_tallies(session, self.stream_id, batches, self.now)
                await session.commit()

    async def note_flags(self) -> None:
        """Note when each flag span (a reputation flag, a viewers: or slow: span) first existed."""
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(FlagInterval.id, FlagInterval.node_id, FlagInterval.reason).where(
                        FlagInterval.id.not_in(list(self.spans))
                    )
                )
            ).all()
        for span_id, node_id, reason in rows:
            self.spans[span_id] = FlagSeen(node_id, reason, self.t)

    async def run(self) -> DayResult:
        """Run the day on the seeded database (`seed_database` first) and measure it."""
        prober = Prober(
            self.db.transaction,
            self.settings,
            clock=self.clock,
            read_sessions=self.db.session,
            probe=self.probe,
            rnd=random.Random(self.seed * 31 + 7),
        )
        prober.origins = {"main": (self.stream_id, "http://origin.example:8080/live/main.m3u8")}
        prober.watcher.indexes["main"] = self.index
        audits = AuditRunner(
            self.db.transaction,
            lambda: prober.watcher.indexes,
            lambda: prober.origins,
            audit_interval_s=self.settings.probe_interval_s,
            relaying_window_s=GRACE_S,
            beating_window_s=self.settings.beating_window_s,
            clock=self.clock,
            rnd=random.Random(self.seed * 131 + 3),
        )
        previous = -1.0
        try:
            for step in range(0, self.day_s, TICK_S):
                self.now = T0 + timedelta(seconds=step)
                self.publish()
                await self.heartbeats(previous)
                await self.deliver_reports()
                await prober.probe_due()
                await audits.step()
                await self.watch()
                await self.note_flags()
                previous = self.t
        finally:
            await prober.stop()
        try:
            return await self.measure()
        finally:
            await self.db.dispose()

    async def measure(self) -> DayResult:
        end = T0 + timedelta(seconds=self.day_s)
        cheat_from = min(
            (n.cheat_from for n in self.nodes.values() if n.behaviour != "honest"), default=0.0
        )
        trace = CreditTrace()
        async with self.db.session() as session:
            day = await tally(session, T0, end, None, trace)
            after = await tally(session, T0 + timedelta(seconds=cheat_from), end, None)
            probes = (
                await session.execute(
                    select(Probe.node_id, Probe.reason, Probe.at, Probe.ok).order_by(Probe.at)
                )
            ).all()
        credited = day.streams[0].credited if day.streams else {}
        reasons: dict[str, set[str]] = defaultdict(set)
        checks: dict[str, list[tuple[float, bool]]] = defaultdict(list)
        for node_id, reason, at, ok in probes:
            reasons[node_id].add(reason)
            checks[node_id].append(((at.replace(tzinfo=UTC) - T0).total_seconds(), bool(ok)))
        return DayResult(
            seed=self.seed,
            nodes=self.nodes,
            credited=dict(credited),
            lost={k: dict(v) for k, v in trace.lost.items()},
            credited_after_cheat=dict(after.streams[0].credited if after.streams else {}),
            spans=list(self.spans.values()),
            unwatched_at=dict(self.unwatched_at),
            reasons=dict(reasons),
            eligible_ticks=dict(self.eligible_ticks),
            ticks=self.ticks,
            loads=dict(self.loads),
            cheat_loads=dict(self.cheat_loads),
            checks=dict(checks),
        )
