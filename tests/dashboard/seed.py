"""Seed a coordinator database with streams, nodes, probes and uptime for pages and benchmarks.

Node `i` is flagged when i % 10 == 3, silent (no beat for 10 min) when i % 10 == 5, banned when
i % 25 == 7, healthy otherwise. The stream `main` was live for the last 25 h but for one hour
(12 h to 11 h ago).
"""

import hashlib
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
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

REASONS_FAILED = ("hash_mismatch", "stale", "timeout", "refused")


async def seed(
    db: AsyncSession,
    *,
    nodes: int = 5,
    probes_per_node: int = 6,
    now: datetime | None = None,
    seed_value: int = 7,
) -> Stream:
    """Add the stream `main`, an invite and `nodes` nodes with probes and 24 h of uptime."""
    rng = random.Random(seed_value)
    now = now or datetime.now(UTC)
    stream = Stream(
        name="main",
        origin_url="http://127.0.0.1:9/live/main.m3u8",
        pool_per_hour_minor=250,
        currency="USD",
        paused=False,
        live=True,
        live_changed_at=now - timedelta(hours=11),
        created_at=now - timedelta(days=2),
    )
    invite = Invite(
        id="inv1",
        code_hash=hashlib.sha256(b"seed-code").hexdigest(),
        max_uses=max(nodes, 1),
        uses_left=0,
        expires_at=None,
        note="friends",
        created_at=now - timedelta(days=2),
    )
    db.add_all([stream, invite])
    await db.flush()
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
    node_rows: list[dict[str, Any]] = []
    uptime_rows: list[dict[str, Any]] = []
    probe_rows: list[dict[str, Any]] = []
    flag_rows: list[dict[str, Any]] = []
    for i in range(nodes):
        node_id = f"n{i:05d}"
        flagged, silent, banned = i % 10 == 3, i % 10 == 5, i % 25 == 7
        last_beat = now - timedelta(seconds=600 if silent else 5)
        node_rows.append(
            {
                "id": node_id,
                "token_hash": hashlib.sha256(f"t{i}".encode()).hexdigest(),
                "probe_key": "k",
                "display_name": f"Friend {i:04d}",
                "payout_handle": f"@friend{i}",
                "anonymous": False,
                "relay_url": f"http://127.0.0.1:{20000 + i}",
                "registered_ip": "127.0.0.1",
                "capacity_kbit": 10_000,
                "viewers": rng.randint(0, 5),
                "bytes_served": rng.randint(0, 10**9),
                "version": "0.1.0",
                "invite_id": "inv1",
                "status": "banned" if banned else "active",
                "reputation_alpha": 2.0 if flagged else 19.0,
                "reputation_beta": 6.0 if flagged else 1.0,
                "flagged": flagged,
                "streams_reported": "main",
                "created_at": now - timedelta(days=1) + timedelta(seconds=i),
                "last_heartbeat_at": last_beat,
                "next_probe_at": None,
            }
        )
        spans: list[list[datetime]] = []
        start = now - timedelta(hours=24)
        while start < last_beat:
            end = min(start + timedelta(minutes=rng.randint(30, 240)), last_beat)
            spans.append([start, end])
            start = end + timedelta(minutes=rng.randint(1, 20))
        spans[-1][1] = last_beat
        for begin, end in spans:
            for sid in (None, stream.id):
                uptime_rows.append(
                    {"node_id": node_id, "stream_id": sid, "started_at": begin, "ended_at": end}
                )
        reputation = 0.95
        step = timedelta(minutes=1440 // max(probes_per_node, 1))
        for j in range(probes_per_node):
            ok = not flagged or j % 3 == 0
            reputation = max(0.0, min(1.0, reputation + (0.01 if ok else -0.15)))
            probe_rows.append(
                {
                    "node_id": node_id,
                    "stream_id": stream.id,
                    "at": now - step * (probes_per_node - j),
                    "ok": ok,
                    "reason": "ok" if ok else rng.choice(REASONS_FAILED),
                    "detail": "" if ok else "segment bytes differ from the origin's",
                    "latency_ms": rng.randint(5, 120),
                    "reputation_after": reputation,
                    "address": f"127.0.0.1:{20000 + i}",  # its relay, as the prober resolved it
                }
            )
        if flagged:
            flag_rows.append(
                {
                    "node_id": node_id,
                    "started_at": now - timedelta(hours=2),
                    "ended_at": None,
                    "reason": "hash_mismatch on 3 of the last 4 probes",
                }
            )
    for table, rows in (
        (Node, node_rows),
        (UptimeInterval, uptime_rows),
        (Probe, probe_rows),
        (FlagInterval, flag_rows),
    ):
        for chunk in range(0, len(rows), 5000):
            if rows[chunk : chunk + 5000]:
                await db.execute(insert(table), rows[chunk : chunk + 5000])
    await db.commit()
    return stream
