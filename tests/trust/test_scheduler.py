"""The probe loop on real databases: leases, reputations, flags, live intervals."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select, update

from coordinator_service.prober.bitrate import moved, slot_kbit
from coordinator_service.prober.scheduler import Prober, ProberSettings
from coordinator_service.services.pause import PAUSED_REPORT
from coordinator_service.storage.models import (
    FlagInterval,
    Node,
    Probe,
    Stream,
    StreamBitrateChange,
    StreamLiveInterval,
    UptimeInterval,
)
from tests.fixtures.net import free_port
from tests.fixtures.origin import live_origin
from tests.trust.conftest import DATABASES, database_for, open_database
from tests.trust.relays import MirrorRelay

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def origin():
    async with live_origin("main") as server:
        yield server


@pytest_asyncio.fixture(params=DATABASES, loop_scope="module")
async def sessions(request, tmp_path):
    async with open_database(database_for(request, tmp_path)) as factory:
        yield factory


async def seed(sessions, origin, relays: dict[str, str], keys: dict[str, str]) -> None:
    now = datetime.now(UTC)
    async with sessions() as session:
        stream = Stream(
            name="main",
            origin_url=origin.url("main"),
            pool_per_hour_minor=3600,
            currency="USD",
            created_at=now,
        )
        session.add(stream)
        await session.flush()
        for node_id, relay_url in relays.items():
            session.add(
                Node(
                    id=node_id,
                    token_hash=node_id * 4,
                    probe_key=keys[node_id],
                    display_name=node_id,
                    payout_handle="@" + node_id,
                    relay_url=relay_url,
                    created_at=now,
                    last_heartbeat_at=now,
                )
            )
            await session.flush()
            session.add(
                UptimeInterval(
                    node_id=node_id,
                    stream_id=stream.id,
                    started_at=now - timedelta(seconds=5),
                    ended_at=now + timedelta(minutes=10),
                )
            )
        await session.commit()


def settings(**kw):
    base = {"probe_interval_s": 0.2, "allow_private_relays": True, "probe_timeout_s": 3}
    return ProberSettings(**{**base, **kw})


async def poll_until_live(*probers: Prober) -> None:
    """Poll the origins until each prober sees the stream grow (a first poll only learns it)."""
    for _ in range(50):
        indexes = await asyncio.gather(*(p.poll_origins() for p in probers))
        if all(i["main"].is_live(time.time()) for i in indexes):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the origin never looked live")


async def run_cycles(prober: Prober, cycles: int) -> None:
    for _ in range(cycles):
        await prober.poll_origins()
        await prober.probe_due()
        await asyncio.sleep(0.65)  # past the longest next_probe_at (3 × mean)


async def probes_of(sessions, node_id):
    async with sessions() as session:
        rows = await session.scalars(
            select(Probe).where(Probe.node_id == node_id).order_by(Probe.at, Probe.id)
        )
        return list(rows)


async def test_cheats_are_flagged_within_three_probes_and_honest_nodes_never(sessions, origin):
    async with (
        MirrorRelay(origin.base_url, "key-honest") as honest,
        MirrorRelay(origin.base_url, "key-corrupt", mode="corrupt") as corrupt,
        MirrorRelay(origin.base_url, "key-honest") as thief_target,
    ):
        relays = {
            "honest": honest.url,
            "corrupt": corrupt.url,
            "norelay": f"http://127.0.0.1:{free_port()}",
            "thief": thief_target.url,  # claims a relay that proves with another node's key
        }
        keys = {"honest": "key-honest", "corrupt": "key-corrupt", "norelay": "x", "thief": "mine"}
        await seed(sessions, origin, relays, keys)
        prober = Prober(sessions, settings())
        try:
            # spare cycles: on a busy machine a probe can come due after a cycle's sleep; the
            # assertions below still judge each cheat by its first three probes
            await run_cycles(prober, 6)
        finally:
            await prober.stop()
    expected = {"corrupt": "hash_mismatch", "norelay": "refused", "thief": "not_owned"}
    for node_id, reason in expected.items():
        probes = await probes_of(sessions, node_id)
        assert len(probes) >= 3, node_id
        assert [p.reason for p in probes[:3]] == [reason] * 3
        assert probes[2].reputation_after is not None and probes[2].reputation_after < 0.7
    honest_probes = await probes_of(sessions, "honest")
    assert len(honest_probes) >= 3
    assert {p.reason for p in honest_probes} == {"ok"}
    async with sessions() as session:
        flagged = set(await session.scalars(select(Node.id).where(Node.flagged)))
        open_flags = set(
            await session.scalars(
                select(FlagInterval.node_id).where(FlagInterval.ended_at.is_(None))
            )
        )
        live = (await session.scalars(select(StreamLiveInterval))).all()
    assert flagged == open_flags == {"corrupt", "norelay", "thief"}
    assert len(live) == 1 and live[0].ended_at > live[0].started_at


async def test_two_replicas_never_probe_the_same_node_at_once(sessions, origin):
    async with MirrorRelay(origin.base_url, "k") as relay:
        relays = {f"n{i}": relay.url for i in range(20)}
        await seed(sessions, origin, relays, dict.fromkeys(relays, "k"))
        one = Prober(sessions, settings(probe_interval_s=60, holder="one"))
        two = Prober(sessions, settings(probe_interval_s=60, holder="two"))
        try:
            await poll_until_live(one, two)
            counts = await asyncio.gather(one.probe_due(), two.probe_due())
        finally:
            await one.stop()
            await two.stop()
    assert sum(counts) == 20
    async with sessions() as session:
        per_node = (
            await session.execute(select(Probe.node_id, func.count()).group_by(Probe.node_id))
        ).all()
    assert sorted(per_node) == sorted((f"n{i}", 1) for i in range(20))


async def test_silent_nodes_are_not_probed_and_failures_after_the_last_beat_do_not_count(
    sessions, origin
):
    async with MirrorRelay(origin.base_url, "k", mode="corrupt") as relay:
        relay.delay_s = 1.5
        await seed(sessions, origin, {"quitting": relay.url}, {"quitting": "k"})
        prober = Prober(sessions, settings(beating_window_s=1.0))
        try:
            await poll_until_live(prober)
            async with sessions() as session:  # it beats once more, now
                await session.execute(update(Node).values(last_heartbeat_at=datetime.now(UTC)))
                await session.commit()
            assert await prober.probe_due() == 1  # heard from just now: probed
            await asyncio.sleep(0.7)
            assert await prober.probe_due() == 0  # silent for longer than the window
        finally:
            await prober.stop()
    probes = await probes_of(sessions, "quitting")
    assert [(p.reason, p.ok) for p in probes] == [("hash_mismatch", False)]
    assert probes[0].detail.endswith("(not counted: heartbeats stopped)")
    assert probes[0].reputation_after == 1.0
    async with sessions() as session:
        node = await session.get(Node, "quitting")
        assert node is not None and (node.reputation_beta, node.flagged) == (0.0, False)


async def test_a_failure_of_a_node_that_announced_a_pause_is_not_counted(sessions, origin):
    async with MirrorRelay(origin.base_url, "k", mode="corrupt") as relay:
        await seed(sessions, origin, {"pausing": relay.url}, {"pausing": "k"})
        async with sessions() as session:
            node = await session.get(Node, "pausing")
            assert node is not None
            node.streams_reported = PAUSED_REPORT  # its latest beat said "paused"
            await session.commit()
        prober = Prober(sessions, settings())
        try:
            await poll_until_live(prober)
            assert await prober.probe_due() == 1
        finally:
            await prober.stop()
    probes = await probes_of(sessions, "pausing")
    assert probes[0].detail.endswith("(not counted: the friend paused)")
    async with sessions() as session:
        node = await session.get(Node, "pausing")
        assert node is not None and (node.reputation_beta, node.flagged) == (0.0, False)


async def test_the_origin_watcher_records_the_streams_slot_bitrate_when_it_moves(sessions, origin):
    await seed(sessions, origin, {}, {})
    prober = Prober(sessions, settings())
    try:
        await poll_until_live(prober)
        for _ in range(8):  # more segments: the measurement settles
            indexes = await prober.poll_origins()
            await asyncio.sleep(0.3)
    finally:
        await prober.stop()
    measured = slot_kbit(indexes["main"])
    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(StreamBitrateChange.slot_kbit).order_by(
                    StreamBitrateChange.started_at, StreamBitrateChange.id
                )
            )
        )
    assert measured is not None and 50 < measured < 2000  # 300k video plus audio
    assert 1 <= len(rows) < 10, rows  # written when it moves, not at every poll
    assert not moved(rows[-1], measured)  # the latest row is the figure in force
