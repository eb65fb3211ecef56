"""Sam and Ann relay from one public address (one household), Bob from another: the seed of the
one-share rule's tests (ledger, routing, CLI, API, dashboard)."""

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.storage.models import Stream
from tests.trust.conftest import T0, Seeder

__all__ = ["HOUSE", "HOUR", "seed_household"]

HOUSE = "203.0.113.7"
HOUR = 3600
# node id, probed address, seconds after the hour's start of its passed probes
RELAYS = (
    ("sam", f"{HOUSE}:8430", (10, 1800, 3540)),  # the most passes: kept by default
    ("ann", f"{HOUSE}:9000", (10, 3540)),
    ("bob", "198.51.100.20:8430", (10, 3540)),
)


async def seed_household(session: AsyncSession, end: datetime, name: str = "main") -> Stream:
    """Stream `name` live for the hour before `end`, the three relaying it, probed at their
    addresses from 10 s in (so each is credited 3590 s when nothing takes it away)."""
    seed = Seeder(session)
    stop = int((end - T0).total_seconds())
    start = stop - HOUR
    stream = await seed.stream(name, pool_per_hour=3600)
    stream.live = True
    await seed.live(stream, (start, stop))
    for node_id, address, passes in RELAYS:
        url = f"http://{address}"
        await seed.node(
            node_id,
            relay=url,
            last_heartbeat_at=end,
            capacity_kbit=8_000,
            viewers=0,
            next_probe_at=end + timedelta(hours=1),  # a running app's prober leaves them be
        )
        await seed.took_url(node_id, start, url)
        await seed.up(node_id, stream, (start, stop))
        for second in passes:
            await seed.probe(node_id, start + second, address=address, relay_url=url)
    return stream
