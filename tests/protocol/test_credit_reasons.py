"""The earnings answer's credit reasons: optional both ways, and unknown codes still shown."""

from datetime import UTC, datetime

from streamr_protocol.models import CREDIT_REASONS, CreditBreakdown, NodeEarningsResponse
from tests.protocol.older import OlderNodeEarningsResponse

EARNINGS = {
    "currency": "USD",
    "today_minor": 120,
    "period_minor": 900,
    "period_from": datetime(2026, 11, 1, tzinfo=UTC).isoformat(),
    "credited_seconds_today": 600,
    "payouts": [],
    "probes": [],
}


def test_a_node_reads_an_answer_without_credit_from_an_older_host() -> None:
    answer = NodeEarningsResponse.model_validate(EARNINGS)
    assert answer.credit is None
    assert OlderNodeEarningsResponse.model_validate(EARNINGS).period_minor == 900


def test_a_reason_code_this_node_does_not_know_is_kept_with_its_text() -> None:
    credit = {
        "up_seconds": 3600,
        "credited_seconds": 1800,
        "lost": [
            {"reason": "unverified", "seconds": 1200, "text": "t", "advice": "a"},
            {"reason": "moon_phase", "seconds": 600, "text": "the moon was full"},
        ],
    }
    answer = NodeEarningsResponse.model_validate({**EARNINGS, "credit": credit})
    assert answer.credit == CreditBreakdown.model_validate(credit)
    assert [(lost.reason, lost.text, lost.advice) for lost in answer.credit.lost] == [
        ("unverified", "t", "a"),
        ("moon_phase", "the moon was full", ""),
    ]
    assert "moon_phase" not in CREDIT_REASONS
