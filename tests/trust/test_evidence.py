"""Viewer evidence and measured weights: how much evidence takes a relay out, and what does not."""

from coordinator_service.prober.capacity import Measured, bounded_weights, measure, slots
from coordinator_service.prober.evidence import ReportRow, judge_viewers
from coordinator_service.prober.viewer_reports import PathwayTally, ViewerBatch, store_tallies
from tests.trust.conftest import Seeder, at


def viewer(name, address, **pathways):
    """Rows of one viewer: pathway=(ok, failed); `origin` is the origin."""
    return [
        ReportRow(name, address, None if node == "origin" else node, ok, failed, ok * 1000, ok)
        for node, (ok, failed) in pathways.items()
    ]


def rows(*viewers):
    return [row for v in viewers for row in v]


def test_three_addresses_whose_loads_fail_on_a_relay_but_work_elsewhere_take_it_out():
    judged = judge_viewers(
        rows(*(viewer(f"v{i}", f"10.0.0.{i}", bad=(0, 4), good=(4, 0)) for i in range(3)))
    )
    assert judged["bad"].fails_viewers
    assert not judged["good"].fails_viewers
    assert judged["good"].vouching == {"10.0.0.0", "10.0.0.1", "10.0.0.2"}


def test_two_addresses_are_not_enough():
    judged = judge_viewers(
        rows(*(viewer(f"v{i}", f"10.0.0.{i}", bad=(0, 4), good=(4, 0)) for i in range(2)))
    )
    assert not judged["bad"].fails_viewers


def test_many_tokens_from_one_address_count_once():
    judged = judge_viewers(
        rows(*(viewer(f"v{i}", "10.0.0.9", bad=(0, 4), origin=(4, 0)) for i in range(50)))
    )
    assert judged["bad"].complaining == {"10.0.0.9"}
    assert not judged["bad"].fails_viewers


def test_one_token_replayed_from_many_addresses_counts_once():
    replayed = [ReportRow("v", f"10.0.1.{i}", "bad", 0, 4) for i in range(20)]
    replayed += [ReportRow("v", f"10.0.1.{i}", None, 4, 0) for i in range(20)]
    judged = judge_viewers(replayed)
    assert len(judged["bad"].complaining) == 1


def test_viewers_whose_own_network_fails_everywhere_accuse_nobody():
    judged = judge_viewers(
        rows(*(viewer(f"v{i}", f"10.0.0.{i}", bad=(0, 4), origin=(0, 4)) for i in range(5)))
    )
    assert judged["bad"].complaining == set()


def test_more_addresses_served_well_than_complaining_protect_an_honest_relay():
    liars = [viewer(f"l{i}", f"10.9.0.{i}", node=(0, 5), origin=(5, 0)) for i in range(3)]
    happy = [viewer(f"h{i}", f"10.1.0.{i}", node=(5, 0)) for i in range(4)]
    judged = judge_viewers(rows(*liars, *happy))
    assert len(judged["node"].complaining) == 3
    assert not judged["node"].fails_viewers


def test_a_few_failed_segments_among_many_loaded_are_no_complaint():
    judged = judge_viewers(
        rows(*(viewer(f"v{i}", f"10.0.0.{i}", lossy=(8, 2), origin=(3, 0)) for i in range(6)))
    )
    assert judged["lossy"].complaining == set()
    assert len(judged["lossy"].vouching) == 6


def test_slots_follow_the_claim_unless_peers_measured_it_too_slow():
    assert slots(10_000, 0, Measured(), 2_000) == 5
    assert slots(10_000, 2, Measured(), 2_000) == 3
    assert slots(10_000, 0, Measured(too_slow=True), 2_000) == 0
    assert slots(1_500, 0, Measured(delivered_kbit=(2_000,) * 9), 2_000) == 0


def test_a_greedy_claim_weighs_at_most_twice_the_median_until_deliveries_justify_more():
    weights = {"a": 5, "b": 5, "c": 5, "greedy": 5_000}
    bounded = bounded_weights(weights, {}, 2_000)
    assert bounded == {"a": 5, "b": 5, "c": 5, "greedy": 10}
    assert bounded["greedy"] / sum(bounded.values()) < 0.5
    served = bounded_weights(weights, {"greedy": Measured(delivered_kbit=(2_000,) * 40)}, 2_000)
    assert served["greedy"] == 80
    assert bounded_weights({"a": 0}, {}, 2_000) == {"a": 0}
    full = bounded_weights(
        {"a": 0, "b": 0, "c": 0, "greedy": 5_000},
        {"greedy": Measured(delivered_kbit=(2_000,) * 3)},
        2_000,
    )
    assert full["greedy"] == 6


def test_deliveries_count_at_most_one_viewer_per_address_and_a_glimpse_as_a_sliver():
    weights = {"a": 5, "b": 5, "c": 5, "greedy": 5_000}
    glimpses = Measured(delivered_kbit=(60,) * 40)  # forty addresses that loaded two segments
    assert glimpses.demonstrated_slots(2_000) == 1.2
    assert bounded_weights(weights, {"greedy": glimpses}, 2_000)["greedy"] == 10
    one_greedy_viewer = Measured(delivered_kbit=(900_000,))
    assert one_greedy_viewer.demonstrated_slots(2_000) == 1
    assert bounded_weights(weights, {"greedy": one_greedy_viewer}, 2_000)["greedy"] == 10
    eight = Measured(delivered_kbit=(2_500,) * 8)  # a higher variant still shows one viewer each
    assert bounded_weights(weights, {"greedy": eight}, 2_000)["greedy"] == 16


def test_what_each_address_got_from_a_relay_is_summed_over_its_tokens():
    judged = judge_viewers(
        [
            ReportRow("t1", "10.0.0.1", "r", 4, 0, 4_000),
            ReportRow("t2", "10.0.0.1", "r", 4, 0, 6_000),
            ReportRow("t3", "10.0.0.2", "r", 3, 1, 3_000),
        ]
    )
    assert judged["r"].delivered == {"10.0.0.1": 10_000, "10.0.0.2": 3_000}


async def test_measured_deliveries_from_stored_beacons_lift_the_bound(sessions):
    """Beacons stored as the report route stores them; `measure` reads them as /watch does."""
    async with sessions() as session:
        seeder = Seeder(session)
        stream = await seeder.stream("main")
        for node_id in ("big", "a", "b", "c"):
            await seeder.node(node_id)
        # two minutes at 2,000 kbit/s from six addresses; one more address runs 30 players
        minute = 2_000 * 1000 // 8 * 60
        batches = [
            ViewerBatch(f"198.51.100.{i}", f"v{i}-{half}", {"big": PathwayTally(30, 0, minute)})
            for i in range(6)
            for half in range(2)
        ]
        batches += [
            ViewerBatch("198.51.100.99", f"w{j}", {"big": PathwayTally(60, 0, 2 * minute)})
            for j in range(30)
        ]
        await store_tallies(session, stream.id, batches, at(0))
        await session.commit()
        measured = await measure(session, stream.id, ["big", "a", "b", "c"], at(10))
    assert measured["big"].demonstrated_slots(2_000) == 7
    weights = {"big": 5_000, "a": 5, "b": 5, "c": 5}
    assert bounded_weights(weights, measured, 2_000)["big"] == 14
    assert bounded_weights(weights, measured, 4_000)["big"] == 10  # half a viewer each at 4 Mbit
