"""Numbers as a friend reads them."""

from datetime import UTC, datetime, timedelta

from desktop_app.ui.formatting import format_age, format_bytes, format_money


def test_money_uses_minor_units_and_symbols() -> None:
    assert format_money(123456, "USD") == "$1,234.56"
    assert format_money(5, "EUR") == "€0.05"
    assert format_money(-250, "CHF") == "-2.50 CHF"
    assert format_money(1200, "JPY") == "¥1,200"


def test_bytes_use_decimal_units() -> None:
    assert format_bytes(999) == "999 B"
    assert format_bytes(3_200_000_000) == "3.2 GB"


def test_age_reads_naturally() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert format_age(None, now) == "never"
    assert format_age(now - timedelta(seconds=2), now) == "just now"
    assert format_age(now - timedelta(seconds=30), now) == "30 s ago"
    assert format_age(now - timedelta(minutes=5), now) == "5 min ago"
