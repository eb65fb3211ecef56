"""Say to a friend why time was not credited: a stable code, plain words and how to fix it.

The one place the ledger's reasons (`tally.py`, `explain.py`) become the codes of
`streamr_protocol.models.CREDIT_REASONS`; a rule missing here passes through as `other` with the
ledger's own text. No jargon: the friend's app and status page show these words as they are.
"""

from collections.abc import Callable
from dataclasses import dataclass

from coordinator_service.ledger.explain import NOT_RELAYING, NodeCredit
from coordinator_service.ledger.tally import (
    BANNED_BY_HOST,
    FLAGGED,
    NO_SLOT,
    NOT_LIVE,
    SHARED_RELAY,
    UNVERIFIED,
)
from streamr_protocol.models import CreditBreakdown, CreditLost

__all__ = ["OTHER", "credit_breakdown", "friend_reason"]

OTHER = "other"


@dataclass(frozen=True, slots=True)
class _Words:
    code: str
    text: str
    advice: Callable[[NodeCredit], str]


def _slot_advice(credit: NodeCredit) -> str:
    if credit.slot_needs_kbit is None:
        return "raise your upload limit (Settings) so at least one viewer can watch through you"
    mbit = -(-credit.slot_needs_kbit // 100) / 10  # rounded up to 0.1 Mbit/s
    return f"raise your upload limit (Settings) to at least {mbit:g} Mbit/s"


_WORDS: dict[str, _Words] = {
    NOT_RELAYING: _Words(
        "not_relaying",
        "your app was on but not passing on a stream",
        lambda _: (
            "time counts only while your app passes a stream on: keep the host's "
            "streams ticked (Streams) and do not pause helping"
        ),
    ),
    NOT_LIVE: _Words(
        "not_live",
        "the stream was not live (time counts only while the host is streaming)",
        lambda _: "",  # nothing to fix
    ),
    FLAGGED: _Words(
        "flagged",
        "your app was under review after the host's checks failed",
        lambda _: (
            "see the host's checks for why they failed; time counts again once they pass "
            "(ask your host if it lasts)"
        ),
    ),
    UNVERIFIED: _Words(
        "unverified",
        "your app was not reachable for the host's checks",
        lambda _: (
            "press Fix it in the app (or forward its port on your router); time counts again "
            "from the next passed check"
        ),
    ),
    NO_SLOT: _Words("no_slot", "your upload limit leaves no room for one viewer", _slot_advice),
    BANNED_BY_HOST: _Words("banned", "the host removed this app", lambda _: "ask your host why"),
    SHARED_RELAY: _Words(
        "shared_relay",
        "another app on your internet connection is already counted",
        lambda _: "one app per internet connection earns: ask the host to approve both",
    ),
}


def friend_reason(reason: str, seconds: int, credit: NodeCredit) -> CreditLost:
    """Say why `seconds` of `credit` were lost to the ledger's `reason`, and how to fix it."""
    words = _WORDS.get(reason)
    if words is None:
        return CreditLost(reason=OTHER, seconds=seconds, text=reason)
    return CreditLost(
        reason=words.code, seconds=seconds, text=words.text, advice=words.advice(credit)
    )


def credit_breakdown(credit: NodeCredit) -> CreditBreakdown:
    """A node's explained credit as the friend is shown it (most time lost first)."""
    lost = sorted(credit.lost, key=lambda item: -item[1])
    return CreditBreakdown(
        up_seconds=credit.up_seconds,
        credited_seconds=credit.credited_seconds,
        lost=[friend_reason(reason, seconds, credit) for reason, seconds in lost],
    )
