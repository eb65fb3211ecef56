"""One amount formatter: tray, status page, dashboard and CSV show the same number."""

import httpx
import pytest

from coordinator_service.dashboard.money import format_amount as dashboard_amount
from coordinator_service.errors import ValidationError
from coordinator_service.money import check_currency, to_minor
from desktop_app.core.status_page import StatusPage
from desktop_app.ui.formatting import format_money
from streamr_protocol.money import format_amount, is_currency, minor_exponent, parse_amount

CASES = [
    (123456, "USD", "1234.56"),
    (1234, "KWD", "1.234"),
    (1234, "BHD", "1.234"),
    (1234, "CLP", "1234"),
    (1234, "JPY", "1234"),
    (1234, "KRW", "1234"),
    (1234, "CLF", "0.1234"),
    (5, "EUR", "0.05"),
]


@pytest.mark.parametrize(("minor", "currency", "text"), CASES)
def test_every_surface_formats_alike(minor: int, currency: str, text: str) -> None:
    assert format_amount(minor, currency) == text
    assert dashboard_amount(minor, currency) == text  # the dashboard and the CSV
    tray = format_money(minor, currency)
    assert tray.replace(",", "").lstrip("$€£¥").split(" ")[0] == text
    assert parse_amount(text, currency) == minor == to_minor(text, currency)


def test_grouping_for_people() -> None:
    assert format_amount(123456789, "KWD", grouping=True) == "123,456.789"
    assert format_money(123456789, "KWD") == "123,456.789 KWD"
    assert format_money(1200, "JPY") == "¥1,200"


def test_iso_4217_codes_only() -> None:
    assert is_currency("KWD") and is_currency("USD") and is_currency("CLP")
    for bad in ("XYZ", "usd", "US", "XAU", "XXX", ""):
        assert not is_currency(bad)
        with pytest.raises(ValidationError, match="ISO 4217"):
            check_currency(bad)
    with pytest.raises(ValidationError, match="ISO 4217"):
        to_minor("1", "XYZ")
    assert minor_exponent("ISK") == 0


def test_too_many_decimals_is_refused() -> None:
    with pytest.raises(ValidationError, match="more decimals than JPY"):
        to_minor("1.5", "JPY")
    assert to_minor("1.005", "KWD") == 1005


async def test_status_page_shows_iso_decimals() -> None:
    snapshot = {
        "state": "running",
        "streams": [],
        "viewers": 0,
        "bytes_served": 0,
        "earnings": {"today_minor": 1234, "currency": "KWD"},
    }
    page = StatusPage(lambda: snapshot, port=0)
    await page.start()
    try:
        async with httpx.AsyncClient() as client:
            html = (await client.get(f"http://127.0.0.1:{page.port}/")).text
    finally:
        await page.stop()
    assert "1.234 KWD today" in html
