"""Property: whatever the gaps between beats, the uptime intervals are exactly the runs of beats."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from coordinator_service.services import invites, nodes
from coordinator_service.services.heartbeats import Beat, CatalogCache, HeartbeatRecorder
from coordinator_service.services.tokens import hash_secret
from coordinator_service.storage.db import Database
from coordinator_service.storage.models import UptimeInterval

GRACE = timedelta(seconds=75)


def expected_runs(times: list[datetime]) -> list[tuple[datetime, datetime]]:
    runs = [(times[0], times[0])]
    for at in times[1:]:
        start, end = runs[-1]
        if at - end <= GRACE:
            runs[-1] = (start, at)
        else:
            runs.append((at, at))
    return runs


@pytest.fixture
async def db(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    await database.migrate()
    yield database
    await database.dispose()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(gaps=st.lists(st.integers(min_value=1, max_value=200), min_size=0, max_size=12))
async def test_intervals_are_the_runs_of_beats(db, gaps):
    async with db.transaction() as session:
        code = (await invites.create_invite(session)).code
    async with db.transaction() as session:
        joined = await nodes.register_node(session, code, nodes.NewNode("n", "h", "http://x"))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = [start]
    for gap in gaps:
        times.append(times[-1] + timedelta(seconds=gap))
    clock = iter(times)
    recorder = HeartbeatRecorder(db, CatalogCache(db), GRACE, clock=lambda: next(clock))
    await recorder.start()
    try:
        for _ in times:
            await recorder.record(Beat(hash_secret(joined.token)))
    finally:
        await recorder.stop()
    async with db.session() as session:
        rows = (
            await session.scalars(
                select(UptimeInterval)
                .where(UptimeInterval.node_id == joined.node.id)
                .order_by(UptimeInterval.started_at)
            )
        ).all()
    assert [(r.started_at, r.ended_at) for r in rows] == expected_runs(times)
