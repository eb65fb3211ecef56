"""Payouts on real SQLite and PostgreSQL: exact amounts, immutability, overlap rules, CSV."""

import asyncio

import pytest

from coordinator_service.ledger.earnings import EstimateCache
from coordinator_service.ledger.errors import (
    PayoutConflictError,
    PayoutInputError,
    PayoutNotFoundError,
)
from coordinator_service.ledger.payouts import (
    compute_payout,
    get_payout,
    list_payouts,
    mark_paid,
    payout_csv,
    void_payout,
)
from coordinator_service.storage.models import Node
from tests.trust.conftest import Seeder, at

HOUR = 3600


async def seed_worked_example(session):
    """The README's worked example: 2 h 30 min live at 6.00 USD/h, three nodes."""
    seed = Seeder(session)
    main = await seed.stream("main", pool_per_hour=600)
    await seed.live(main, (0, 5400), (6000, 9600))  # 1 h 30 + 1 h live, a 10 min outage
    for node_id in ("alice", "bob", "carol"):
        await seed.node(node_id)
    # alice relays all the time, restarting once (overlapping intervals)
    await seed.up("alice", main, (0, 3000), (2990, 9600))
    # bob joins late: credited 9600 - 4200 = 5400 minus the 600 s outage = 4800
    await seed.up("bob", main, (4200, 9600))
    # carol relays 0..4000 but is flagged for 1000 s of it: 3000 credited
    await seed.up("carol", main, (0, 4000))
    await seed.flag("carol", 1000, 2000)
    # uptime without a stream earns nothing
    await seed.up("bob", None, (0, 9600))
    return main


async def test_worked_example_pays_exactly_the_pool_by_largest_remainder(sessions):
    async with sessions() as session:
        await seed_worked_example(session)
        view = await compute_payout(session, at(0), at(4 * HOUR), "main", now=at(5 * HOUR))
        await session.commit()
    assert view.live_seconds == 9000
    assert view.pool_minor == 1500  # 600 * 9000 / 3600
    lines = {line.node_id: (line.credited_seconds, line.amount_minor) for line in view.lines}
    # quotas 1500*9000/16800=803.57, 1500*4800/16800=428.57, 1500*3000/16800=267.86
    assert lines == {"alice": (9000, 804), "bob": (4800, 428), "carol": (3000, 268)}
    assert sum(amount for _, amount in lines.values()) == view.pool_minor
    async with sessions() as session:
        stored = await get_payout(session, view.payout_id)
    assert [line.node_id for line in stored.lines] == ["alice", "bob", "carol"]
    assert stored.lines == view.lines


async def test_pool_is_floored_to_whole_minor_units(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        main = await seed.stream("main", pool_per_hour=1000)
        await seed.live(main, (0, 100))
        await seed.node("solo")
        await seed.up("solo", main, (0, 100))
        view = await compute_payout(session, at(0), at(200), None, now=at(300))
    assert view.pool_minor == 27  # 1000 * 100 / 3600 = 27.78
    assert [(line.node_id, line.amount_minor) for line in view.lines] == [("solo", 27)]


async def test_overlapping_period_is_refused_until_the_earlier_payout_is_voided(sessions):
    async with sessions() as session:
        await seed_worked_example(session)
        first = await compute_payout(session, at(0), at(HOUR), "main", now=at(5 * HOUR))
        with pytest.raises(PayoutConflictError, match="void it first") as caught:
            await compute_payout(session, at(HOUR - 1), at(2 * HOUR), "main", now=at(5 * HOUR))
        assert caught.value.code == "payout_overlap"
        # a combined payout overlaps every stream's
        with pytest.raises(PayoutConflictError):
            await compute_payout(session, at(0), at(2 * HOUR), None, now=at(5 * HOUR))
        # an adjacent period is fine
        await compute_payout(session, at(HOUR), at(2 * HOUR), "main", now=at(5 * HOUR))
        await void_payout(session, first.payout_id, now=at(5 * HOUR))
        again = await compute_payout(session, at(0), at(HOUR), "main", now=at(5 * HOUR))
        assert again.payout_id != first.payout_id
        assert [line.amount_minor for line in again.lines] == [
            line.amount_minor for line in first.lines
        ]


async def test_mark_paid_is_idempotent_and_paid_payouts_cannot_be_voided(sessions):
    async with sessions() as session:
        await seed_worked_example(session)
        view = await compute_payout(session, at(0), at(HOUR), "main", now=at(5 * HOUR))
        paid = await mark_paid(session, view.payout_id, now=at(6 * HOUR))
        paid_again = await mark_paid(session, view.payout_id, now=at(7 * HOUR))
        assert paid.paid_at == paid_again.paid_at == at(6 * HOUR)
        with pytest.raises(PayoutConflictError, match="already paid"):
            await void_payout(session, view.payout_id, now=at(7 * HOUR))
        other = await compute_payout(session, at(HOUR), at(2 * HOUR), "main", now=at(5 * HOUR))
        await void_payout(session, other.payout_id, now=at(6 * HOUR))
        with pytest.raises(PayoutConflictError, match="voided"):
            await mark_paid(session, other.payout_id, now=at(7 * HOUR))
        listed = await list_payouts(session)
    assert [(p.payout_id, p.node_count) for p in listed] == [
        (other.payout_id, len(other.lines)),
        (view.payout_id, len(view.lines)),
    ]
    assert listed[1].paid_at == at(6 * HOUR) and listed[0].voided_at == at(6 * HOUR)


async def test_stored_lines_keep_names_and_handles_as_of_computation(sessions):
    async with sessions() as session:
        await seed_worked_example(session)
        view = await compute_payout(session, at(0), at(4 * HOUR), "main", now=at(5 * HOUR))
        alice = await session.get(Node, "alice")
        assert alice is not None
        alice.display_name, alice.payout_handle = "Renamed", "@new"
        await session.commit()
    async with sessions() as session:
        stored = await get_payout(session, view.payout_id)
    assert (stored.lines[0].display_name, stored.lines[0].payout_handle) == ("Alice", "@alice")


async def test_csv_export_has_the_contract_header_and_decimal_amounts(sessions):
    async with sessions() as session:
        await seed_worked_example(session)
        view = await compute_payout(session, at(0), at(4 * HOUR), "main", now=at(5 * HOUR))
    assert payout_csv(view) == (
        "node_id,display_name,payout_handle,credited_seconds,amount,currency\n"
        "alice,Alice,'@alice,9000,8.04,USD\n"  # a leading @ could start a formula
        "bob,Bob,'@bob,4800,4.28,USD\n"
        "carol,Carol,'@carol,3000,2.68,USD\n"
    )


async def test_combined_payout_splits_each_stream_pool_among_its_own_nodes(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        a = await seed.stream("a", pool_per_hour=3600)
        b = await seed.stream("b", pool_per_hour=7200)
        await seed.live(a, (0, 100))
        await seed.live(b, (0, 100))
        for node_id in ("x", "y"):
            await seed.node(node_id)
        await seed.up("x", a, (0, 100))
        await seed.up("y", a, (0, 100))
        await seed.up("y", b, (50, 100))
        view = await compute_payout(session, at(0), at(100), None, now=at(200))
    # a: pool 100 split 50/50; b: pool 200 all to y (only relayer)
    assert view.pool_minor == 300
    assert view.live_seconds == 200
    assert [(line.node_id, line.credited_seconds, line.amount_minor) for line in view.lines] == [
        ("y", 150, 250),
        ("x", 100, 50),
    ]


async def test_nodes_sharing_one_probed_address_are_credited_once(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        main = await seed.stream("main", pool_per_hour=3600)
        await seed.live(main, (0, 1000))
        await seed.node("honest", relay="http://203.0.113.5:9000")
        await seed.node("farm1", relay="http://203.0.113.9:9000")
        await seed.node("farm2", relay="http://farm.example:9001")
        for node_id in ("honest", "farm1", "farm2"):
            await seed.up(node_id, main, (0, 1000))
        # one public IPv4 address is one person, whatever the ports and names
        await seed.probe("honest", 100, address="203.0.113.5:9000")
        await seed.probe("farm1", 100, address="203.0.113.9:9000")
        await seed.probe("farm1", 200, address="203.0.113.9:9000")
        await seed.probe("farm2", 150, address="203.0.113.9:9001")
        view = await compute_payout(session, at(0), at(1000), "main", now=at(2000))
    assert [(line.node_id, line.amount_minor) for line in view.lines] == [
        ("farm1", 500),
        ("honest", 500),
    ]


async def test_stream_with_no_credited_node_pays_nothing(sessions):
    async with sessions() as session:
        seed = Seeder(session)
        main = await seed.stream("main")
        await seed.live(main, (0, 1000))
        view = await compute_payout(session, at(0), at(1000), "main", now=at(2000))
    assert (view.pool_minor, view.live_seconds, view.lines) == (0, 1000, [])


@pytest.mark.parametrize(
    ("start", "end", "stream", "error", "message"),
    [
        (100, 100, None, PayoutInputError, "end after it starts"),
        (0, 10 * HOUR, None, PayoutInputError, "must be over"),
        (0, 100, "nope", PayoutNotFoundError, "no stream named 'nope'"),
    ],
)
async def test_bad_periods_and_unknown_streams_are_refused_clearly(
    sessions, start, end, stream, error, message
):
    async with sessions() as session:
        with pytest.raises(error, match=message):
            await compute_payout(session, at(start), at(end), stream, now=at(HOUR))


async def test_unknown_payout_is_not_found(sessions):
    async with sessions() as session:
        with pytest.raises(PayoutNotFoundError, match="no payout"):
            await get_payout(session, "pay_missing")


async def test_concurrent_overlapping_computations_store_one_payout(sessions):
    async with sessions() as session:
        await seed_worked_example(session)
        await session.commit()

    async def compute():
        async with sessions() as session:
            try:
                view = await compute_payout(session, at(0), at(HOUR), "main", now=at(5 * HOUR))
            except PayoutConflictError:
                return None
            await session.commit()
            return view.payout_id

    results = await asyncio.gather(*(compute() for _ in range(4)))
    async with sessions() as session:
        stored = await list_payouts(session)
    assert len(stored) == 1 and [r for r in results if r] == [stored[0].payout_id]


async def test_estimates_match_the_payout_and_are_shared_for_a_few_seconds(sessions):
    async with sessions() as session:
        await seed_worked_example(session)
        cache = EstimateCache(ttl_s=60)
        first = await cache.get(session, at(0), at(4 * HOUR))
        again = await cache.get(session, at(0), at(4 * HOUR))
        fresh = await EstimateCache(ttl_s=0).get(session, at(0), at(4 * HOUR))
        view = await compute_payout(session, at(0), at(4 * HOUR), None, now=at(5 * HOUR))
    assert again is first and fresh is not first
    assert (
        first.amounts == fresh.amounts == {line.node_id: line.amount_minor for line in view.lines}
    )


async def test_a_traced_estimate_is_computed_once_and_serves_untraced_requests_too(sessions):
    async with sessions() as session:
        await seed_worked_example(session)
        cache = EstimateCache(ttl_s=60)
        plain = await cache.get(session, at(0), at(4 * HOUR))
        traced = await cache.get(session, at(0), at(4 * HOUR), traced=True)
        again = await cache.get(session, at(0), at(4 * HOUR))
        traced_again = await cache.get(session, at(0), at(4 * HOUR), traced=True)
    assert plain.trace is None and traced.trace is not None  # asked for: computed again
    assert again is traced_again is traced
    assert traced.amounts == plain.amounts
    assert sum(traced.credited.values()) == sum(plain.seconds.values())
