"""Property: the two heartbeat write paths (plain sqlite3 and SQLAlchemy Core) store the same rows.

Both run on copies of one seeded SQLite database with the same beats at the same times: the
answers to every beat and the nodes, uptime intervals and capacity changes afterwards must be
identical, and a capacity change is recorded exactly when a beat's capacity differs from the last.
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
    st.sampled_from((10_000, 500, 4_000)),  # registered with 10,000 kbit
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
                    session,
                    code,
                    nodes.NewNode(f"n{index}", "h", f"http://192.0.2.1:{8081 + index}"),
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
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
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
                            capacity_kbit=capacity,
                            live_streams=tuple(sorted(live)),
                        )
                    )
                    for who, live, relay, viewers, capacity in beats
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
                        "SELECT display_name, last_heartbeat_at, relay_url, viewers, version, "
                        "capacity_kbit FROM nodes ORDER BY display_name"
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
            capacities = (
                await session.execute(
                    text(
                        "SELECT n.display_name, c.capacity_kbit, c.started_at "
                        "FROM node_capacity_changes c JOIN nodes n ON n.id = c.node_id "
                        "ORDER BY c.id"
                    )
                )
            ).all()
    finally:
        await recorder.stop()
        await db.dispose()
    return (
        answers,
        [tuple(r) for r in node_rows],
        [tuple(r) for r in intervals],
        [tuple(r) for r in capacities],
    )


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
    # one capacity row per node at registration (10,000), then one per beat that changed it
    expected = [(f"n{index}", 10_000) for index in range(4)]
    held = {f"n{index}": 10_000 for index in range(3)}  # n3 is banned: its beats store nothing
    beats_in_order = [beat for _, beats in rounds for beat in beats]
    for (who, _, _, _, capacity), answer in zip(beats_in_order, answers, strict=True):
        if who < 3 and isinstance(answer, tuple) and held[f"n{who}"] != capacity:
            held[f"n{who}"] = capacity  # refused beats (a relay URL taken) store nothing
            expected.append((f"n{who}", capacity))
    assert sorted((name, kbit) for name, kbit, _ in raw[3]) == sorted(expected)


def test_the_comparison_sees_a_difference(template: tuple[Path, list[str]], tmp_path: Path) -> None:
    """The same beats at different times give different rows: the comparison can fail."""
    path, tokens = template
    rounds: list[Any] = [(0, [(0, {"a"}, None, 1, 500)]), (10, [(0, {"a"}, None, 1, 500)])]
    later: list[Any] = [(0, [(0, {"a"}, None, 1, 500)]), (40, [(0, {"a"}, None, 1, 4000)])]
    shutil.copy(path, tmp_path / "one.db")
    shutil.copy(path, tmp_path / "two.db")
    one = asyncio.run(_replay(tmp_path / "one.db", tokens, rounds, True))
    two = asyncio.run(_replay(tmp_path / "two.db", tokens, later, False))
    assert one[2] != two[2] and len(two[2]) == 4  # a gap over the grace opens new intervals
    assert len(one[3]) == 4 + 1 and len(two[3]) == 4 + 2  # the changes of capacity, once each
