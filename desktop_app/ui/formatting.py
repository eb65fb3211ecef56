"""Turn numbers into the short strings a friend reads (money, bytes, rates, ages); Qt-free."""

from datetime import UTC, datetime

from desktop_app.core.credit import format_duration
from streamr_protocol.money import format_amount

__all__ = ["format_age", "format_bytes", "format_duration", "format_mbit", "format_money"]

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}


def format_money(amount_minor: int, currency: str) -> str:
    """Format integer minor units: 1234, "USD" -> "$12.34"; decimals as ISO 4217 says."""
    sign = "-" if amount_minor < 0 else ""
    number = format_amount(abs(amount_minor), currency, grouping=True)
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"


def format_bytes(count: int) -> str:
    """Format a byte count with a decimal unit: 3_200_000_000 -> "3.2 GB"."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_mbit(bits_per_second: float) -> str:
    """Format a rate in Mbit/s with one decimal."""
    return f"{bits_per_second / 1e6:.1f} Mbit/s"


def format_age(at: datetime | None, now: datetime | None = None) -> str:
    """Say how long ago `at` was: "never", "just now", "12 s ago", "3 min ago", "2 h ago"."""
    if at is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = int((now - at).total_seconds())
    if seconds < 5:
        return "just now"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"
