"""Reputation simulations: cheats are flagged fast, honest flaky nodes never are."""

import random

import pytest

from coordinator_service.prober.reputation import (
    FAILURE_WEIGHTS,
    FLAG_BELOW,
    UNFLAG_AT,
    Reputation,
)

DAY_OF_PROBES = 24 * 3600 // 60  # one probe a minute on average: harsher than the default


def simulate(reasons, start=None):
    rep = start or Reputation()
    history = []
    for reason in reasons:
        rep = rep.after(reason)
        history.append(rep)
    return history


@pytest.mark.parametrize("seed", range(200))
def test_honest_node_with_ten_percent_timeouts_is_never_flagged_over_a_day(seed):
    rnd = random.Random(seed)
    reasons = ["timeout" if rnd.random() < 0.10 else "ok" for _ in range(DAY_OF_PROBES)]
    history = simulate(reasons)
    assert not any(rep.flagged for rep in history)
    assert min(rep.score for rep in history) > FLAG_BELOW + 0.05


@pytest.mark.parametrize("reason", sorted(set(FAILURE_WEIGHTS) - {"timeout", "slow"}))
def test_a_cheat_is_flagged_within_three_probes_from_full_trust(reason):
    history = simulate([reason] * 3)
    assert history[-1].flagged
    assert history[-1].score < FLAG_BELOW


@pytest.mark.parametrize("reason", sorted(set(FAILURE_WEIGHTS) - {"timeout", "slow"}))
def test_a_cheat_is_flagged_within_three_probes_after_a_long_honest_record(reason):
    rnd = random.Random(7)
    honest = ["timeout" if rnd.random() < 0.10 else "ok" for _ in range(500)]
    start = simulate(honest)[-1]
    assert not start.flagged
    assert simulate([reason] * 3, start)[-1].flagged


def test_a_single_hard_failure_or_two_do_not_flag_an_honest_node():
    assert not simulate(["refused", "refused"])[-1].flagged
    assert not simulate(["ok"] * 5 + ["refused"] + ["ok"] * 5 + ["refused"])[-1].flagged


def test_a_node_that_only_times_out_is_flagged_eventually():
    history = simulate(["timeout"] * 30)
    first = next(i for i, rep in enumerate(history) if rep.flagged)
    assert 15 <= first < 25


def test_a_repaired_node_recovers_and_hysteresis_keeps_it_flagged_until_well_above_the_line():
    flagged = simulate(["hash_mismatch"] * 6)[-1]
    assert flagged.flagged
    history = simulate(["ok"] * 60, flagged)
    recovered_at = next(i for i, rep in enumerate(history) if not rep.flagged)
    assert recovered_at < 40
    # while still flagged the score had already crossed the flag line: hysteresis at work
    assert any(FLAG_BELOW <= rep.score < UNFLAG_AT and rep.flagged for rep in history)
    assert history[recovered_at].score >= UNFLAG_AT


def test_new_node_starts_fully_trusted():
    assert Reputation().score == 1.0
    assert not Reputation().flagged
