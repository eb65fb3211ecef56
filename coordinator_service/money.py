"""Money at the edges: decimal text in major units <-> integer minor units, exactly."""

from decimal import Decimal, InvalidOperation

from coordinator_service.errors import ValidationError

__all__ = ["format_minor", "minor_exponent", "to_minor"]

# ISO 4217 currencies without minor units; every other currency here uses two decimals.
_ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()
)
_THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
MAX_MINOR = 10**12


def minor_exponent(currency: str) -> int:
    """Return how many decimals the currency's minor unit has (2 for most)."""
    if currency in _ZERO_DECIMAL:
        return 0
    if currency in _THREE_DECIMAL:
        return 3
    return 2


def to_minor(amount: str, currency: str) -> int:
    """Convert `36` or `1.50` (major units) to integer minor units, refusing any rounding."""
    try:
        value = Decimal(amount.strip())
    except InvalidOperation as exc:
        raise ValidationError(f"{amount!r} is not an amount (write it like 36 or 1.50)") from exc
    if not value.is_finite() or value < 0:
        raise ValidationError(f"{amount!r} must be a positive amount or 0")
    scaled = value.scaleb(minor_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValidationError(f"{amount!r} has more decimals than {currency} allows")
    minor = int(scaled)
    if minor > MAX_MINOR:
        raise ValidationError(f"{amount!r} is too large")
    return minor


def format_minor(minor: int, currency: str) -> str:
    """Format integer minor units as a decimal string in major units (`150` -> `1.50`)."""
    exponent = minor_exponent(currency)
    return str(Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent)))
