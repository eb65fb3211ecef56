"""Peer audits: other nodes fetch a relay as a player would; their reports feed reputation.

Each relaying node is audited at random, unpredictable times (exponential, mean = the probe
interval), and at once when its viewers complain (`evidence.py`). An audit asks `AUDITORS` nodes
drawn at random among the healthy ones — never the target, nor one sharing its address (IPv4, the
IPv6 /64, or on private/loopback addresses the address and port) or its invite — to fetch the
stream from the target and report status, bytes, SHA-256 and timings (`POST /api/v1/nodes/audits`).
Assignments ride in the auditor's heartbeat answer, only to nodes that announce `audits: true`.

Each report is checked against the coordinator's origin index: a segment the origin published
lately is `ok`; bytes it never published are `hash_mismatch`; an old one is `stale`; no answer
is `http_error`/`refused`/`timeout`. The reports of one round are then compared: when they
disagree, the side in the minority contradicts the majority and its auditors lose reputation as
for a failed probe (a tie decides nothing); an auditor claiming bytes the origin never published
while another auditor got the origin's bytes contradicts the origin. The target's reputation is
updated by the majority's verdict once per agreeing auditor (each is an independent check, as a
probe is); a failure reported by one auditor alone counts only as much as a timeout, so one lying
auditor cannot flag an honest relay: that takes two, drawn at random, agreeing.

Too slow for one viewer (`slow`, a trickle) costs the time back to the last passed check (a
`slow:` flag span) only when `SLOW_ROUNDS` (3) rounds in a row agree `slow` with no audit round
passed in between (within `SLOW_LOOKBACK`; the coordinator's own passed probes do not count: a
relay may trickle everyone but the coordinator). One round is not enough: each auditor's fetch
crosses a lossy network on its own, and with 10 % of fetches failing (half of them as slow
segments, reports lost as often) two auditors agree `slow` on an honest relay in about 0.4 % of
rounds, twice a day per node at the default cadence (the simulated day,
`tests/trust/test_simulated_day.py`, gave 8 of 10 honest nodes 1–5 `slow:` spans a day). Two
rounds in a row still happen about once per 100 node-days (a Monte Carlo of these rounds); three
never did in 20,000. A trickle fails every audit: the third round comes a few minutes after the
first (median about 10 minutes at the default cadence, sooner once its viewers complain).
"""

import asyncio
import logging
import random
import secrets
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.ledger.credit import as_utc
from coordinator_service.prober.evidence import SLOW_SEGMENT_MS, WINDOW, viewer_verdicts
from coordinator_service.prober.identity import relay_url_key
from coordinator_service.prober.origin import StreamIndex
from coordinator_service.prober.reputation import Reason, Reputation
from coordinator_service.prober.routing import canonical_relay_base, relay_playlist_url
from coordinator_service.services.nodes import ACTIVE
from coordinator_service.storage.models import (
    FlagInterval,
    Node,
    PeerAudit,
    Probe,
    UptimeInterval,
)
from streamr_protocol.models import AuditReport
from streamr_protocol.tasks import cancel_and_wait

__all__ = [
    "AUDITORS",
    "AUDIT_TTL",
    "REPORTED",
    "AuditRunner",
    "judge_report",
    "pending_assignments",
    "record_reports",
]

logger = logging.getLogger(__name__)

AUDITORS: Final = 2
AUDIT_TTL: Final = timedelta(seconds=60)
VIEWER_FLAG_PREFIX: Final = "viewers:"
SLOW_FLAG_PREFIX: Final = "slow:"
SLOW_LOOKBACK: Final = timedelta(minutes=30)
SLOW_ROUNDS: Final = 3  # rounds agreeing `slow` in a row before it costs credit
SETTLE: Final = timedelta(seconds=3)  # > two origin polls: a fresh segment is indexed by then
AUDIT_DETAIL: Final = "peer audit by"  # how a target's audit checks start their `detail`
REPORTED: Final = "r:"  # `reason` of a reported, not yet judged audit: "r:" + the auditor's error


def judge_report(
    status: int,
    size: int,
    sha256: str,
    total_ms: int,
    error: str,
    index: StreamIndex | None,
    at: float,
) -> Reason:
    """Return the verdict on one auditor's report, against the origin index at time `at`."""
    if status == 0:  # refused is the relay's door shut; anything else may be the network's
        return "refused" if error == "refused" else "timeout"
    if status != 200 or size == 0:
        return "http_error"
    if error == "timeout" or total_ms > SLOW_SEGMENT_MS:
        return "slow"
    if error:
        return "timeout"  # the connection broke mid-segment
    if index is None:
        return "ok"  # the origin is not watched here: nothing to contradict
    segment = index.lookup(sha256)
    if segment is None:
        return "hash_mismatch"
    limit = max(6 * index.target_duration, 30.0)  # one of the newest three, as a player joins
    if index.staleness(segment, 0.0, limit, at) is not None:
        return "stale"
    return "ok"


@dataclass(frozen=True, slots=True)
class _Target:
    node_id: str
    relay_url: str
    key: str
    invite_id: str | None
    stream_id: int
    stream: str


async def pending_assignments(
    session: AsyncSession, auditor_id: str, now: datetime
) -> list[tuple[str, str, datetime]]:
    """Return the auditor's unanswered, unexpired assignments as (id, url, expires_at)."""
    rows = await session.execute(
        select(PeerAudit.id, PeerAudit.url, PeerAudit.expires_at).where(
            PeerAudit.auditor_id == auditor_id,
            PeerAudit.reported_at.is_(None),
            PeerAudit.expires_at > now,
        )
    )
    return [(i, u, as_utc(e)) for i, u, e in rows.all()]


async def record_reports(
    session: AsyncSession, auditor_id: str, reports: Sequence[AuditReport], now: datetime
) -> int:
    """Store an auditor's reports on its own open assignments (others are ignored); return how
    many assignments matched. The caller commits."""
    audits = {
        a.id: a
        for a in (
            await session.scalars(
                select(PeerAudit).where(
                    PeerAudit.id.in_([r.id for r in reports]),
                    PeerAudit.auditor_id == auditor_id,
                    PeerAudit.reported_at.is_(None),
                    PeerAudit.expires_at > now - AUDIT_TTL / 4,
                )
            )
        ).all()
    }
    for report in reports:
        audit = audits.get(report.id)
        if audit is None:
            continue
        audit.reported_at = now
        audit.status = report.status
        audit.bytes = report.bytes
        audit.sha256 = report.sha256
        audit.ttfb_ms = report.ttfb_ms
        audit.total_ms = report.total_ms
        audit.reason = (REPORTED + report.error)[:32]
    return len(audits)


class AuditRunner:
    """Assigns peer audits, judges their reports, and acts on viewer evidence (one replica)."""

    def __init__(
        self,
        sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        indexes: Callable[[], Mapping[str, StreamIndex]],
        origins: Callable[[], Mapping[str, tuple[int, str]]],
        auditors: Callable[[], Mapping[str, datetime]] | None = None,
        *,
        audit_interval_s: float,
        relaying_window_s: float,
        beating_window_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rnd: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.indexes = indexes
        self.origins = origins
        self.auditors = auditors
        self.audit_interval_s = audit_interval_s
        self.relaying_window_s = relaying_window_s
        self.beating_window_s = beating_window_s
        self.clock = clock
        self._rnd = rnd or random.SystemRandom()
        self._next_at: dict[str, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Run `step` about every tenth of the audit interval until stopped."""
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _loop(self) -> None:
        every = min(1.0, max(0.05, self.audit_interval_s / 10))
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep auditing whatever one cycle hit; the log has the detail
                logger.exception("audit step failed")
            await asyncio.sleep(every)

    async def step(self) -> None:
        """Judge answered audits, weigh viewer evidence, assign the audits now due."""
        await self.judge_reports()
        now = self.clock()
        live = {
            name: sid
            for name, (sid, _) in self.origins().items()
            if (index := self.indexes().get(name)) is not None and index.is_live(now.timestamp())
        }
        if not live:
            return
        targets = await self._targets(now, live)
        urgent = await self._viewer_evidence(now, targets)
        due = [t for t in targets if t.node_id in urgent or self._due(t.node_id, now)]
        if due:
            await self._assign(now, due, targets)

    def _due(self, node_id: str, now: datetime) -> bool:
        at = self._next_at.get(node_id)
        if at is None:  # first sight: a random point in the first interval
            at = now + timedelta(seconds=self._rnd.uniform(0, self.audit_interval_s))
            self._next_at[node_id] = at
        if at > now:
            return False
        mean = self.audit_interval_s
        delay = min(max(self._rnd.expovariate(1 / mean), 0.1 * mean), 3 * mean)
        self._next_at[node_id] = now + timedelta(seconds=delay)
        return True

    async def _targets(self, now: datetime, live: dict[str, int]) -> list[_Target]:
        since = now - timedelta(seconds=self.relaying_window_s)
        beating = now - timedelta(seconds=self.beating_window_s)
        names = {sid: name for name, sid in live.items()}
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Node.id, Node.relay_url, Node.invite_id, UptimeInterval.stream_id)
                    .join(UptimeInterval, UptimeInterval.node_id == Node.id)
                    .where(
                        Node.status == ACTIVE,
                        Node.last_heartbeat_at >= beating,
                        Node.relay_url != "",
                        UptimeInterval.stream_id.in_(list(names)),
                        UptimeInterval.ended_at >= since,
                    )
                    .distinct()
                )
            ).all()
        chosen: dict[str, _Target] = {}
        for node_id, relay_url, invite_id, stream_id in rows:
            base = canonical_relay_base(relay_url)
            if base is None or stream_id is None:
                continue
            if node_id in chosen and self._rnd.random() < 0.5:
                continue  # relaying several streams: audit one of them at random
            chosen[node_id] = _Target(
                node_id, base, relay_url_key(base), invite_id, stream_id, names[stream_id]
            )
        return list(chosen.values())

    async def _assign(self, now: datetime, due: list[_Target], targets: list[_Target]) -> None:
        if self.auditors is not None:  # only nodes that announced they audit
            seen = self.auditors()
            recent = now - timedelta(seconds=self.beating_window_s)
            targets = [t for t in targets if (at := seen.get(t.node_id)) and at >= recent]
        async with self.sessions() as session:
            busy = set(  # one open round per target: a new one once the last is judged
                (
                    await session.scalars(
                        select(PeerAudit.node_id)
                        .where(
                            PeerAudit.node_id.in_([t.node_id for t in due]),
                            ((PeerAudit.reason == "") & (PeerAudit.expires_at > now))
                            | PeerAudit.reason.startswith(REPORTED),
                        )
                        .distinct()
                    )
                ).all()
            )
            due = [t for t in due if t.node_id not in busy]
            healthy = set(
                (
                    await session.scalars(
                        select(Node.id).where(
                            Node.id.in_([t.node_id for t in targets]), Node.flagged.is_(False)
                        )
                    )
                ).all()
            )
            rows = []
            for target in due:
                pool = [
                    t
                    for t in targets
                    if t.node_id in healthy
                    and t.node_id != target.node_id
                    and t.key != target.key
                    and (t.invite_id is None or t.invite_id != target.invite_id)
                ]
                for auditor in self._rnd.sample(pool, min(AUDITORS, len(pool))):
                    rows.append(
                        {
                            "id": secrets.token_hex(8),
                            "node_id": target.node_id,
                            "auditor_id": auditor.node_id,
                            "stream_id": target.stream_id,
                            "url": relay_playlist_url(target.relay_url, target.stream),
                            "assigned_at": now,
                            "expires_at": now + AUDIT_TTL,
                            "sha256": "",
                            "reason": "",
                            "counted": False,
                        }
                    )
            if rows:
                await session.execute(insert(PeerAudit), rows)
            await session.commit()

    async def judge_reports(self) -> int:
        """Judge the rounds whose reports are all in (or expired); update reputations."""
        now = self.clock()
        names = {sid: name for name, (sid, _) in self.origins().items()}
        async with self.sessions() as session:
            open_rounds = (
                await session.execute(
                    select(PeerAudit.node_id, PeerAudit.assigned_at)
                    .where(
                        PeerAudit.reported_at.is_not(None),
                        PeerAudit.reason.startswith(REPORTED),
                    )
                    .distinct()
                )
            ).all()
            judged = 0
            for node_id, assigned_at in open_rounds:
                audits = list(
                    (
                        await session.scalars(
                            select(PeerAudit).where(
                                PeerAudit.node_id == node_id,
                                PeerAudit.assigned_at == assigned_at,
                            )
                        )
                    ).all()
                )
                waiting = [a for a in audits if a.reported_at is None]
                if any(as_utc(a.expires_at) > now for a in waiting):
                    continue  # another auditor may still answer
                if any(now - as_utc(a.reported_at) < SETTLE for a in audits if a.reported_at):
                    continue  # let the origin index catch up with the newest segment
                answered = [a for a in audits if a.reported_at is not None]
                await self._judge_round(session, answered, names, now)
                judged += 1
            await session.commit()
        return judged

    async def _judge_round(
        self,
        session: AsyncSession,
        audits: list[PeerAudit],
        names: Mapping[int, str],
        now: datetime,
    ) -> None:
        indexes = self.indexes()
        verdicts: dict[str, Reason] = {}
        for audit in audits:
            reported = as_utc(audit.reported_at or now).timestamp()
            index = indexes.get(names.get(audit.stream_id, ""))
            verdicts[audit.id] = judge_report(
                audit.status or 0,
                audit.bytes or 0,
                audit.sha256,
                audit.total_ms or 0,
                audit.reason.removeprefix(REPORTED),
                index,
                reported,
            )
        outcome: Reason = "ok"
        passed = [a for a in audits if verdicts[a.id] == "ok"]
        failed = [a for a in audits if verdicts[a.id] != "ok"]
        if len(passed) > len(failed):
            majority, minority = passed, failed
        elif len(failed) > len(passed):
            common = Counter(verdicts[a.id] for a in failed).most_common(1)[0][0]
            majority, minority, outcome = failed, passed, common
        else:
            majority, minority = [], audits
        for audit in audits:
            audit.reason = verdicts[audit.id] if audit in majority else f"x:{verdicts[audit.id]}"
            audit.counted = audit in majority
        if not majority:
            return  # a tie decides nothing
        target = audits[0].node_id
        if outcome != "ok" and len(majority) < 2:
            outcome = "timeout"  # one auditor alone weighs like a timeout
        by = ", ".join(sorted({a.auditor_id for a in majority}))
        for _ in majority:  # each agreeing auditor is one independent check, as a probe is
            await self._apply(session, target, outcome, f"{AUDIT_DETAIL} {by}", now)
        if outcome == "slow":  # peers agree it cannot serve one viewer
            await self._slow_round(session, target, by, now)
        for audit in minority:
            if len(majority) >= 1 and (verdicts[audit.id] != "ok" or passed):
                await self._apply(
                    session,
                    audit.auditor_id,
                    "hash_mismatch",
                    f"audit of {target} contradicted the {'origin' if passed else 'majority'}",
                    now,
                    stream_id=audit.stream_id,
                )

    async def _slow_round(self, session: AsyncSession, target: str, by: str, now: datetime) -> None:
        """After a round agreed `slow`: no credit since the last passed check if it is the
        `SLOW_ROUNDS`th such round with no audit passed in between (see the module docstring)."""
        lookback = now - SLOW_LOOKBACK
        passed = func.max(Probe.at).filter(Probe.ok.is_(True))
        last_pass, last_audit_pass = (
            await session.execute(
                select(passed, passed.filter(Probe.detail.startswith(AUDIT_DETAIL))).where(
                    Probe.node_id == target, Probe.at >= lookback
                )
            )
        ).one()
        after = as_utc(last_audit_pass) if last_audit_pass else lookback
        earlier = await session.scalar(
            select(func.count(func.distinct(Probe.at))).where(
                Probe.node_id == target,
                Probe.reason == "slow",
                Probe.at > after,
                Probe.at < now,  # not this round's own checks
            )
        )
        if (earlier or 0) < SLOW_ROUNDS - 1:
            return  # once or twice is what two lossy links do now and then
        await self._lose_credit(
            session,
            target,
            SLOW_FLAG_PREFIX,
            as_utc(last_pass) if last_pass else lookback,
            now,
            f"{SLOW_FLAG_PREFIX} too slow for one viewer by {by}",
        )

    async def _apply(
        self,
        session: AsyncSession,
        node_id: str,
        reason: Reason,
        detail: str,
        now: datetime,
        stream_id: int | None = None,
    ) -> None:
        row = (
            await session.execute(
                select(Node.reputation_alpha, Node.reputation_beta, Node.flagged).where(
                    Node.id == node_id
                )
            )
        ).one_or_none()
        if row is None:
            return
        before = Reputation(*row)
        after = before.after(reason)
        await session.execute(
            update(Node)
            .where(Node.id == node_id)
            .values(reputation_alpha=after.alpha, reputation_beta=after.beta, flagged=after.flagged)
        )
        session.add(
            Probe(
                node_id=node_id,
                stream_id=stream_id,
                at=now,
                ok=reason == "ok",
                reason=reason,
                detail=detail[:500],
                latency_ms=None,
                reputation_after=round(after.score, 4),
            )
        )
        if after.flagged and not before.flagged:
            logger.warning("node %s flagged by %s: %s", node_id, detail, reason)
            session.add(
                FlagInterval(
                    node_id=node_id,
                    started_at=now,
                    ended_at=None,
                    reason=f"score {after.score:.2f} after {reason} ({detail})"[:200],
                )
            )
        elif before.flagged and not after.flagged:
            await session.execute(
                update(FlagInterval)
                .where(FlagInterval.node_id == node_id, FlagInterval.ended_at.is_(None))
                .values(ended_at=now)
            )

    async def _viewer_evidence(self, now: datetime, targets: list[_Target]) -> set[str]:
        """Return the targets failing their viewers; those corroborated lose credit for it."""
        by_stream: dict[int, list[str]] = {}
        for target in targets:
            by_stream.setdefault(target.stream_id, []).append(target.node_id)
        failing: dict[str, str] = {}
        async with self.sessions() as session:
            for stream_id, node_ids in by_stream.items():
                verdicts = await viewer_verdicts(session, stream_id, node_ids, now)
                for node_id, verdict in verdicts.items():
                    if verdict.fails_viewers:
                        failing[node_id] = (
                            f"{VIEWER_FLAG_PREFIX} {len(verdict.complaining)} addresses failed, "
                            f"{len(verdict.vouching)} served"
                        )
            if not failing:
                return set()
            since = now - WINDOW
            corroborated = set(
                (
                    await session.scalars(
                        select(Probe.node_id)
                        .where(
                            Probe.node_id.in_(list(failing)),
                            Probe.at >= since,
                            Probe.ok.is_(False),
                            Probe.reason != "timeout",
                        )
                        .distinct()
                    )
                ).all()
            )
            for node_id in sorted(corroborated):
                await self._lose_credit(
                    session, node_id, VIEWER_FLAG_PREFIX, since, now, failing[node_id]
                )
            await session.commit()
        return set(failing)

    async def _lose_credit(
        self,
        session: AsyncSession,
        node_id: str,
        prefix: str,
        since: datetime,
        now: datetime,
        reason: str,
    ) -> None:
        """Cover [since, now] with a closed flag span of this kind (extending the last one)."""
        latest = await session.scalar(
            select(FlagInterval)
            .where(
                FlagInterval.node_id == node_id,
                FlagInterval.reason.startswith(prefix),
                FlagInterval.ended_at >= since,
            )
            .order_by(FlagInterval.ended_at.desc())
            .limit(1)
        )
        if latest is not None:
            latest.ended_at = now
            latest.reason = reason[:200]
            return
        session.add(FlagInterval(node_id=node_id, started_at=since, ended_at=now, reason=reason))
