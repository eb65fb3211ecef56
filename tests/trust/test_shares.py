"""Largest-remainder shares: exact, complete, fair, deterministic."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator_service.ledger.shares import split_pool

pools = st.integers(min_value=0, max_value=10**12)
credits = st.dictionaries(
    st.text(alphabet="abcdef0123", min_size=1, max_size=6),
    st.integers(min_value=0, max_value=10**7),
    max_size=40,
)


@given(pools, credits)
def test_shares_sum_to_the_pool_whenever_anyone_has_credit(pool: int, credited: dict[str, int]):
    shares = split_pool(pool, credited)
    assert set(shares) == set(credited)
    assert all(amount >= 0 for amount in shares.values())
    expected = pool if sum(credited.values()) > 0 else 0
    assert sum(shares.values()) == expected


@given(pools, credits)
def test_each_share_is_within_one_minor_unit_of_its_exact_quota(pool, credited):
    total = sum(credited.values())
    for key, amount in split_pool(pool, credited).items():
        if total:
            assert abs(amount * total - pool * credited[key]) < total
        if credited[key] == 0:
            assert amount == 0


@given(pools, credits, st.randoms(use_true_random=False))
def test_shares_do_not_depend_on_the_order_of_nodes(pool, credited, rnd):
    items = list(credited.items())
    rnd.shuffle(items)
    assert split_pool(pool, dict(items)) == split_pool(pool, credited)


@given(pools, credits.filter(bool), st.data())
def test_more_credited_time_never_earns_less(pool, credited, data):
    key = data.draw(st.sampled_from(sorted(credited)))
    extra = data.draw(st.integers(min_value=1, max_value=10**6))
    before = split_pool(pool, credited)[key]
    after = split_pool(pool, {**credited, key: credited[key] + extra})[key]
    assert after >= before


def test_leftover_units_go_to_largest_remainders_then_by_node_id():
    # 100 split three ways: 33 each, one left over; equal remainders -> smallest id wins
    assert split_pool(100, {"c": 1, "a": 1, "b": 1}) == {"a": 34, "b": 33, "c": 33}
    # 1000 over 1:2 -> 333.33 / 666.67: the larger remainder gets the unit
    assert split_pool(1000, {"x": 1, "y": 2}) == {"x": 333, "y": 667}


def test_a_pool_with_no_credited_time_pays_nobody():
    assert split_pool(500, {"a": 0, "b": 0}) == {"a": 0, "b": 0}
    assert split_pool(500, {}) == {}


@pytest.mark.parametrize(("pool", "credited"), [(-1, {"a": 1}), (10, {"a": -5})])
def test_negative_inputs_are_refused(pool, credited):
    with pytest.raises(ValueError, match="negative"):
        split_pool(pool, credited)
