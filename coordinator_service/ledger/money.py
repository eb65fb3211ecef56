"""Format integer minor units as decimal strings, only at the edges (CSV, UI, CLI)."""

__all__ = ["format_minor", "minor_digits"]

_ZERO_DECIMALS = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()
)
_THREE_DECIMALS = frozenset("BHD IQD JOD KWD LYD OMR TND".split())


def minor_digits(currency: str) -> int:
    """Return how many decimal digits the currency's minor unit has (ISO 4217; default 2)."""
    code = currency.upper()
    if code in _ZERO_DECIMALS:
        return 0
    if code in _THREE_DECIMALS:
        return 3
    return 2


def format_minor(amount_minor: int, currency: str) -> str:
    """Return `amount_minor` as an exact decimal string: 1234 USD -> "12.34", 5 JPY -> "5"."""
    digits = minor_digits(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"
