"""Formatting at the dashboard's edge: money, durations, byte counts and times."""

from datetime import datetime

from coordinator_service.ledger.credit import as_utc
from coordinator_service.money import format_minor as format_decimal
from coordinator_service.services.clock import utcnow

__all__ = [
    "as_utc",
    "format_ago",
    "format_amount",
    "format_bytes",
    "format_duration",
    "format_minor",
    "format_when",
]


def format_minor(amount_minor: int | None, currency: str = "USD") -> str:
    """Format integer minor units with the currency, e.g. 1234 USD -> '12.34 USD'."""
    if amount_minor is None:
        return "—"
    return f"{format_amount(amount_minor, currency)} {currency}"


def format_amount(amount_minor: int, currency: str = "USD") -> str:
    """Format minor units as a plain decimal (as in the CSV): 1234 USD -> '12.34'."""
    return format_decimal(amount_minor, currency)


def format_duration(seconds: int | float | None) -> str:
    """Format seconds as '2 h 05 min', '4 min 10 s' or '12 s'."""
    if seconds is None:
        return "—"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def format_bytes(count: int | None) -> str:
    """Format a byte count with binary units: '1.5 GiB'."""
    value = float(count or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_ago(moment: datetime | None, now: datetime | None = None) -> str:
    """Format how long ago a time was: '12 s ago', 'never'."""
    if moment is None:
        return "never"
    delta = ((now or utcnow()) - as_utc(moment)).total_seconds()
    if delta < 0:
        return "just now"
    return f"{format_duration(delta)} ago"


def format_when(moment: datetime | None) -> str:
    """Format a time as 'YYYY-MM-DD HH:MM UTC' (with seconds when it has any)."""
    if moment is None:
        return "—"
    moment = as_utc(moment)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")
