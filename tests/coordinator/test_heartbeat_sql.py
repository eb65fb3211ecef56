"""Property: the two heartbeat write paths (plain sqlite3 and SQLAlchemy Core) store the same rows.

Both run on copies of one seeded SQLite database with the same beats at the same times: the
answers to every beat and the nodes and uptime intervals afterwards must be identical.
"""

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from coordinator_service.services import invites, nodes, streams
from coordinator_service.services.heartbeats import Beat, CatalogCache, HeartbeatRecorder
from coordinator_service.services.tokens import hash_secret
from coordinator_service.storage.db import Database

GRACE = timedelta(seconds=30)
STREAMS = ("a", "b")
START = datetime(2026, 1, 1, tzinfo=UTC)

beat_strategy = st.tuples(
    st.integers(min_value=0, max_value=4),  # node 3 is banned, 4 an unknown token
    st.sets(st.sampled_from((*STREAMS, "unknown-stream"))),
    st.one_of(st.none(), st.sampled_from(("http://203.0.113.7:8081", "http://198.51.100.2"))),
    st.integers(min_value=0, max_value=50),
)
round_strategy = st.tuples(
    st.integers(min_value=0, max_value=45), st.lists(beat_strategy, min_size=1, max_size=6)
)


async def _seed(path: Path) -> list[str]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.migrate()
    tokens = []
    try:
        async with db.transaction() as session:
            for name in STREAMS:
                await streams.create_stream(session, name, f"http://o/{name}.m3u8", 100, "USD")
            code = (await invites.create_invite(session, uses=4)).code
        for index in range(4):
            async with db.transaction() as session:
                joined = await nodes.register_node(
                    session, code, nodes.NewNode(f"n{index}", "h", "http://192.0.2.1:8081")
                )
                tokens.append(joined.token)
        async with db.transaction() as session:
            await nodes.set_banned(session, joined.node.id, True)
    finally:
        await db.dispose()
    return [*tokens, "not-a-node-token"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("heartbeat_sql") / "template.db"
    return path, asyncio.run(_seed(path))


async def _replay(
    path: Path, tokens: list[str], rounds: list[Any], raw_sqlite: bool
) -> tuple[list[Any], list[Any], list[Any]]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    now = [START]
    recorder = HeartbeatRecorder(
        db, CatalogCache(db, ttl=0), GRACE, clock=lambda: now[0], raw_sqlite=raw_sqlite
    )
    answers: list[Any] = []
    await recorder.start()
    try:
        for advance, beats in rounds:
            now[0] += timedelta(seconds=advance)
            results = await asyncio.gather(
                *(
                    recorder.record(
                        Beat(
                            hash_secret(tokens[who]),
                            relay_url=relay,
                            viewers=viewers,
                            live_streams=tuple(sorted(live)),
                        )
                    )
                    for who, live, relay, viewers in beats
                ),
                return_exceptions=True,
            )
            answers += [
                (r.state, r.at) if not isinstance(r, Exception) else type(r).__name__
                for r in results
            ]
        async with db.session() as session:
            node_rows = (
                await session.execute(
                    text(
                        "SELECT display_name, last_heartbeat_at, relay_url, viewers, version "
                        "FROM nodes ORDER BY display_name"
                    )
                )
            ).all()
            intervals = (
                await session.execute(
                    text(
                        "SELECT n.display_name, u.stream_id, u.started_at, u.ended_at "
                        "FROM uptime_intervals u JOIN nodes n ON n.id = u.node_id "
                        "ORDER BY n.display_name, u.stream_id, u.started_at"
                    )
                )
            ).all()
    finally:
        await recorder.stop()
        await db.dispose()
    return answers, [tuple(r) for r in node_rows], [tuple(r) for r in intervals]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rounds=st.lists(round_strategy, min_size=1, max_size=8))
def test_sqlite3_and_core_paths_agree(
    template: tuple[Path, list[str]], tmp_path: Path, rounds: list[Any]
) -> None:
    path, tokens = template
    outcomes = []
    for raw_sqlite in (True, False):
        copy = tmp_path / f"{'raw' if raw_sqlite else 'core'}.db"
        shutil.copy(path, copy)
        outcomes.append(asyncio.run(_replay(copy, tokens, rounds, raw_sqlite)))
    raw, core = outcomes
    assert raw == core
    answers = raw[0]
    unknown = sum(who == 4 for _, beats in rounds for who, *_ in beats)
    assert answers.count("AuthError") == unknown  # bad tokens refused alike, the rest answered


def test_the_comparison_sees_a_difference(template: tuple[Path, list[str]], tmp_path: Path) -> None:
    """The same beats at different times give different rows: the comparison can fail."""
    path, tokens = template
    rounds: list[Any] = [(0, [(0, {"a"}, None, 1)]), (10, [(0, {"a"}, None, 1)])]
    later: list[Any] = [(0, [(0, {"a"}, None, 1)]), (40, [(0, {"a"}, None, 1)])]
    shutil.copy(path, tmp_path / "one.db")
    shutil.copy(path, tmp_path / "two.db")
    one = asyncio.run(_replay(tmp_path / "one.db", tokens, rounds, True))
    two = asyncio.run(_replay(tmp_path / "two.db", tokens, later, False))
    assert one[2] != two[2] and len(two[2]) == 4  # a gap over the grace opens new intervals
