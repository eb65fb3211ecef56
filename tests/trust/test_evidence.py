"""Viewer evidence and measured weights: how much evidence takes a relay out, and what does not."""

from coordinator_service.prober.capacity import Measured, bounded_weights, slots
from coordinator_service.prober.evidence import ReportRow, judge_viewers


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
    assert slots(1_500, 0, Measured(vouching_addresses=9), 2_000) == 0


def test_a_greedy_claim_weighs_at_most_twice_the_median_until_viewers_justify_more():
    weights = {"a": 5, "b": 5, "c": 5, "greedy": 5_000}
    bounded = bounded_weights(weights, {})
    assert bounded == {"a": 5, "b": 5, "c": 5, "greedy": 10}
    assert bounded["greedy"] / sum(bounded.values()) < 0.5
    served = bounded_weights(weights, {"greedy": Measured(vouching_addresses=40)})
    assert served["greedy"] == 80
    assert bounded_weights({"a": 0}, {}) == {"a": 0}
    full = bounded_weights(
        {"a": 0, "b": 0, "c": 0, "greedy": 5_000}, {"greedy": Measured(vouching_addresses=3)}
    )
    assert full["greedy"] == 6
