"""Formatting at the dashboard's edge: money, durations, byte counts and times."""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

__all__ = [
    "AmountError",
    "as_utc",
    "format_ago",
    "format_amount",
    "format_bytes",
    "format_duration",
    "format_minor",
    "format_when",
    "minor_digits",
    "parse_amount",
]

_ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX", "XAF", "XOF"}


class AmountError(ValueError):
    """A typed amount is not a valid non-negative amount of the currency."""


def minor_digits(currency: str) -> int:
    """Return how many decimal places a currency's minor unit has."""
    return 0 if currency.upper() in _ZERO_DECIMAL else 2


def format_minor(amount_minor: int | None, currency: str = "USD") -> str:
    """Format integer minor units, e.g. 1234 USD -> '12.34 USD'."""
    if amount_minor is None:
        return "—"
    digits = minor_digits(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, part = divmod(abs(amount_minor), 10**digits)
    text = f"{whole:,}" if digits == 0 else f"{whole:,}.{part:0{digits}d}"
    return f"{sign}{text} {currency}"


def format_amount(amount_minor: int, currency: str = "USD") -> str:
    """Format minor units as a plain decimal for a form field: 1234 USD -> '12.34'."""
    digits = minor_digits(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, part = divmod(abs(amount_minor), 10**digits)
    return f"{sign}{whole}" if digits == 0 else f"{sign}{whole}.{part:0{digits}d}"


def parse_amount(text: str, currency: str = "USD") -> int:
    """Parse a typed amount ('2.50') into minor units, refusing more decimals than exist."""
    cleaned = (text or "").strip().replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise AmountError(f"'{text}' is not an amount (e.g. 2.50)") from exc
    if not value.is_finite() or value < 0:
        raise AmountError("the amount must be zero or more")
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise AmountError(f"{currency} amounts have at most {minor_digits(currency)} decimals")
    if scaled > 10**12:
        raise AmountError("the amount is too large")
    return int(scaled)


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


def as_utc(moment: datetime) -> datetime:
    """Return a timezone-aware UTC datetime (SQLite hands back naive UTC values)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_ago(moment: datetime | None, now: datetime | None = None) -> str:
    """Format how long ago a time was: '12 s ago', 'never'."""
    if moment is None:
        return "never"
    delta = ((now or datetime.now(UTC)) - as_utc(moment)).total_seconds()
    if delta < 0:
        return "just now"
    return f"{format_duration(delta)} ago"


def format_when(moment: datetime | None) -> str:
    """Format a time as 'YYYY-MM-DD HH:MM UTC'."""
    if moment is None:
        return "—"
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")
