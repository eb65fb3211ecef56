"""This period's credit as the host explains it, in plain words for the status page and tray app.

The host sends why time was not credited as a code with its own words and how to fix it
(`streamr_protocol.models.CreditBreakdown`); a code this app does not know is shown with the
host's words, so a newer host's rule needs no update here.
"""

from desktop_app.core.events import Credit, CreditLoss, EarningsUpdated
from streamr_protocol.models import NodeEarningsResponse

__all__ = ["credit_losses", "credit_summary", "earnings_update", "format_duration"]


def earnings_update(earnings: NodeEarningsResponse) -> EarningsUpdated:
    """The host's earnings answer as the event the node publishes (credit when explained)."""
    credit = None
    if earnings.credit is not None:
        credit = Credit(
            earnings.credit.up_seconds,
            earnings.credit.credited_seconds,
            tuple(
                CreditLoss(lost.reason, lost.seconds, lost.text, lost.advice)
                for lost in earnings.credit.lost
            ),
        )
    return EarningsUpdated(earnings.currency, earnings.today_minor, earnings.period_minor, credit)


def format_duration(seconds: float) -> str:
    """Say how long: "40 s", "12 min", "3 h 5 min", "2 days 4 h"."""
    total = int(seconds)
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min"
    if total < 86400:
        return f"{total // 3600} h {total % 3600 // 60} min"
    return f"{total // 86400} days {total % 86400 // 3600} h"


def credit_summary(credit: Credit) -> str:
    """One line: "Credited this period: 3 h 5 min of 4 h 0 min online"."""
    if credit.up_seconds <= 0:
        return "Credited this period: nothing yet (not online this period)"
    return (
        f"Credited this period: {format_duration(credit.credited_seconds)} "
        f"of {format_duration(credit.up_seconds)} online"
    )


def credit_losses(credit: Credit) -> list[tuple[str, str]]:
    """Each reason time was not credited: ("1 h 0 min not credited: what happened", "how to fix
    it" or "" when there is nothing to fix)."""
    lines = []
    for lost in credit.lost:
        what = lost.text or lost.reason.replace("_", " ")
        lines.append((f"{format_duration(lost.seconds)} not credited: {what}", lost.advice))
    return lines
