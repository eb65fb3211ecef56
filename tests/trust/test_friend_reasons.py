"""Every ledger rule reaches a friend as a stable code, in plain words, with how to fix it."""

import pytest

from coordinator_service.ledger import tally
from coordinator_service.ledger.explain import NOT_RELAYING, NodeCredit
from coordinator_service.ledger.friend_reasons import OTHER, credit_breakdown, friend_reason
from streamr_protocol.models import CREDIT_REASONS

RULES = [
    NOT_RELAYING,
    tally.NOT_LIVE,
    tally.FLAGGED,
    tally.UNVERIFIED,
    tally.NO_SLOT,
    tally.BANNED_BY_HOST,
    tally.SHARED_RELAY,
]
JARGON = ("probe", "heartbeat", "coordinator", "node")


def credit(**fields: object) -> NodeCredit:
    return NodeCredit(**{"node_id": "n1", "display_name": "Ann", "up_seconds": 0} | fields)


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_has_its_own_code_and_plain_words(rule: str) -> None:
    said = friend_reason(rule, 60, credit(credited_seconds=0))
    assert said.reason in CREDIT_REASONS and said.seconds == 60
    assert said.text and (said.advice or rule == tally.NOT_LIVE)  # not live: nothing to fix
    assert not any(word in f"{said.text} {said.advice}".lower() for word in JARGON)


def test_the_codes_are_distinct() -> None:
    codes = [friend_reason(rule, 1, credit(credited_seconds=0)).reason for rule in RULES]
    assert sorted(codes) == sorted(set(codes)) == sorted(CREDIT_REASONS)


def test_no_slot_names_the_upload_limit_that_fixes_it() -> None:
    said = friend_reason(tally.NO_SLOT, 60, credit(credited_seconds=0, slot_needs_kbit=2_450))
    assert "at least 2.5 Mbit/s" in said.advice


def test_an_unknown_rule_passes_through_with_its_text() -> None:
    said = friend_reason("eclipse: the sun was out", 5, credit(credited_seconds=0))
    assert (said.reason, said.text, said.advice) == (OTHER, "eclipse: the sun was out", "")


def test_the_breakdown_lists_most_time_lost_first() -> None:
    lost = [(tally.NOT_LIVE, 60), (tally.UNVERIFIED, 600)]
    breakdown = credit_breakdown(credit(up_seconds=1000, credited_seconds=340, lost=lost))
    assert [(x.reason, x.seconds) for x in breakdown.lost] == [
        ("unverified", 600),
        ("not_live", 60),
    ]
    assert (breakdown.up_seconds, breakdown.credited_seconds) == (1000, 340)
