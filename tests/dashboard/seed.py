"""Seed a coordinator database with streams, nodes, probes and uptime for pages and benchmarks."""

import hashlib
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.storage.models import (
    FlagInterval,
    Invite,
    Node,
    Probe,
    Stream,
    StreamLiveInterval,
    UptimeInterval,
)

REASONS_FAILED = ("hash_mismatch", "stale_playlist", "timeout", "unreachable")


async def seed(
    db: AsyncSession,
    *,
    nodes: int = 5,
    probes_per_node: int = 6,
    now: datetime | None = None,
    seed_value: int = 7,
) -> dict[str, object]:
    """Add one live stream, an invite and `nodes` nodes with probes and 24 h of uptime."""
    rng = random.Random(seed_value)
    now = now or datetime.now(UTC)
    stream = Stream(
        name="main",
        origin_url="http://127.0.0.1:9/live/main.m3u8",
        pool_per_hour_minor=250,
        currency="USD",
        paused=False,
        live=True,
        live_changed_at=now - timedelta(hours=3),
        created_at=now - timedelta(days=2),
    )
    invite = Invite(
        id="inv1",
        code_hash=hashlib.sha256(b"seed-code").hexdigest(),
        max_uses=nodes,
        uses_left=0,
        expires_at=None,
        note="friends",
        created_at=now - timedelta(days=2),
    )
    db.add_all([stream, invite])
    await db.flush()
    # live for the last 24 h but for one hour (12 h to 11 h ago)
    db.add_all(
        [
            StreamLiveInterval(
                stream_id=stream.id,
                started_at=now - timedelta(hours=25),
                ended_at=now - timedelta(hours=12),
            ),
            StreamLiveInterval(
                stream_id=stream.id, started_at=now - timedelta(hours=11), ended_at=now
            ),
        ]
    )
    for i in range(nodes):
        flagged = i % 10 == 3
        banned = i % 25 == 7
        silent = i % 10 == 5
        node = Node(
            id=f"n{i:05d}",
            token_hash=hashlib.sha256(f"t{i}".encode()).hexdigest(),
            probe_key="k",
            display_name=f"Friend {i:04d}",
            payout_handle=f"@friend{i}",
            relay_url=f"http://127.0.0.1:{20000 + i}",
            registered_ip="127.0.0.1",
            capacity_kbit=10_000,
            viewers=rng.randint(0, 5),
            bytes_served=rng.randint(0, 10**9),
            version="0.1.0",
            invite_id="inv1",
            status="banned" if banned else "active",
            reputation_alpha=2.0 if flagged else 9.0,
            reputation_beta=6.0 if flagged else 1.0,
            flagged=flagged,
            streams_reported="main",
            created_at=now - timedelta(days=1),
            last_heartbeat_at=now - timedelta(seconds=600 if silent else rng.randint(1, 30)),
        )
        db.add(node)
        last_beat = now - timedelta(seconds=600 if silent else 5)
        spans: list[list[datetime]] = []
        start = now - timedelta(hours=24)
        while start < last_beat:
            end = min(start + timedelta(minutes=rng.randint(30, 240)), last_beat)
            spans.append([start, end])
            start = end + timedelta(minutes=rng.randint(1, 20))
        spans[-1][1] = last_beat
        for begin, end in spans:
            db.add(UptimeInterval(node_id=node.id, stream_id=None, started_at=begin, ended_at=end))
            db.add(
                UptimeInterval(node_id=node.id, stream_id=stream.id, started_at=begin, ended_at=end)
            )
        reputation = 1.0
        for j in range(probes_per_node):
            ok = not flagged or j % 3 == 0
            reputation = max(0.0, min(1.0, reputation + (0.02 if ok else -0.15)))
            db.add(
                Probe(
                    node_id=node.id,
                    stream_id=stream.id,
                    at=now
                    - timedelta(minutes=(probes_per_node - j) * (1440 // max(probes_per_node, 1))),
                    ok=ok,
                    reason="ok" if ok else rng.choice(REASONS_FAILED),
                    detail="" if ok else "segment bytes differ from the origin's",
                    latency_ms=rng.randint(5, 120),
                    reputation_after=reputation,
                )
            )
        if flagged:
            db.add(
                FlagInterval(
                    node_id=node.id,
                    started_at=now - timedelta(hours=2),
                    ended_at=None,
                    reason="hash_mismatch on 3 of the last 4 probes",
                )
            )
    await db.commit()
    return {"stream": stream, "invite": invite}
