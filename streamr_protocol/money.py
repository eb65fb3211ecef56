"""Currencies (ISO 4217 codes and their minor-unit exponents) and the one amount formatter."""

from decimal import Decimal, InvalidOperation

__all__ = [
    "AmountError",
    "CURRENCY_EXPONENTS",
    "format_amount",
    "is_currency",
    "minor_exponent",
    "parse_amount",
]


class AmountError(ValueError):
    """An amount or currency that cannot be used; str() is one line."""


def _table(exponent: int, codes: str) -> dict[str, int]:
    return dict.fromkeys(codes.split(), exponent)


# ISO 4217 list one (active codes that have a minor unit; not the metals, XDR or test codes).
CURRENCY_EXPONENTS: dict[str, int] = {
    **_table(
        2,
        "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN"
        " BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB"
        " EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS"
        " KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN"
        " MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD"
        " SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS"
        " UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG",
    ),
    **_table(0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
    **_table(3, "BHD IQD JOD KWD LYD OMR TND"),
    **_table(4, "CLF UYW"),
}


def is_currency(code: str) -> bool:
    """Return whether `code` is an ISO 4217 currency a pool can be paid in."""
    return code in CURRENCY_EXPONENTS


def minor_exponent(currency: str) -> int:
    """Return how many decimals the currency's minor unit has (2 for an unknown code)."""
    return CURRENCY_EXPONENTS.get(currency, 2)


def format_amount(minor: int, currency: str, *, grouping: bool = False) -> str:
    """Format integer minor units in major units: 150 USD -> '1.50', 1500 KWD -> '1.500'.

    With `grouping`, thousands are separated by commas ('1,234.50') for people to read; the
    CSV and the command line use the plain form.
    """
    exponent = minor_exponent(currency)
    value = Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))
    return f"{value:,}" if grouping else str(value)


def parse_amount(amount: str, currency: str, *, maximum: int = 10**12) -> int:
    """Convert '36' or '1.50' (major units) to integer minor units, refusing any rounding."""
    if not is_currency(currency):
        raise AmountError(f"{currency!r} is not an ISO 4217 currency code (like USD, EUR, JPY)")
    try:
        value = Decimal(amount.strip())
    except InvalidOperation as exc:
        raise AmountError(f"{amount!r} is not an amount (write it like 36 or 1.50)") from exc
    if not value.is_finite() or value < 0:
        raise AmountError(f"{amount!r} must be a positive amount or 0")
    scaled = value.scaleb(minor_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise AmountError(f"{amount!r} has more decimals than {currency} allows")
    minor = int(scaled)
    if minor > maximum:
        raise AmountError(f"{amount!r} is too large")
    return minor
