"""Interval arithmetic behind credited time."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from coordinator_service.ledger.credit import (
    clip,
    credited_seconds,
    from_seconds,
    intersect,
    merge,
    subtract,
    to_seconds,
    total,
)

spans = st.lists(
    st.tuples(st.integers(0, 500), st.integers(0, 60)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=25,
)


def covered(spans_):
    return {second for start, end in spans_ for second in range(start, end)}


def is_normal(result):
    return all(s < e for s, e in result) and all(
        result[i][1] < result[i + 1][0] for i in range(len(result) - 1)
    )


@given(spans)
def test_merge_covers_exactly_the_same_seconds_with_disjoint_sorted_spans(a):
    result = merge(a)
    assert is_normal(result)
    assert covered(result) == covered(a)
    assert merge(result) == result


@given(spans, spans)
def test_intersect_and_subtract_match_set_semantics(a, b):
    assert covered(intersect(a, b)) == covered(a) & covered(b)
    assert covered(subtract(a, b)) == covered(a) - covered(b)
    assert is_normal(intersect(a, b)) and is_normal(subtract(a, b))
    assert total(a) == total(intersect(a, b)) + total(subtract(a, b))


@given(spans, spans, spans, st.integers(0, 600), st.integers(0, 600))
def test_credited_seconds_is_uptime_and_live_in_period_minus_flags(up, live, flags, lo, hi):
    expected = (covered(up) & covered(live) & set(range(lo, hi))) - covered(flags)
    assert credited_seconds(up, live, flags, (lo, hi)) == len(expected)


def test_restarts_and_short_gaps_merge_but_real_gaps_stay():
    # a node restarts (overlapping interval), then drops out for 60 s
    uptime = [(0, 100), (90, 200), (200, 250), (310, 400)]
    assert merge(uptime) == [(0, 250), (310, 400)]
    assert total(uptime) == 340


def test_clip_cuts_spans_to_the_period():
    assert clip([(0, 100), (150, 300)], 50, 200) == [(50, 100), (150, 200)]


def test_seconds_round_trip_through_aware_utc_datetimes():
    moment = datetime(2026, 1, 2, 3, 4, 5, 999_000, tzinfo=UTC)
    assert from_seconds(to_seconds(moment)) == moment.replace(microsecond=0)
    east = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert to_seconds(east) == to_seconds(moment)
    assert to_seconds(moment.replace(tzinfo=None)) == to_seconds(moment)
