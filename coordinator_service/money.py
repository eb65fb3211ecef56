"""Money at the coordinator's edges: amounts typed by the host become minor units (ValidationError).

Formatting and the currency table live in `streamr_protocol.money`, shared with the tray.
"""

from coordinator_service.errors import ValidationError
from streamr_protocol.money import AmountError, is_currency, minor_exponent, parse_amount
from streamr_protocol.money import format_amount as format_minor

__all__ = ["MAX_MINOR", "check_currency", "format_minor", "minor_exponent", "to_minor"]

MAX_MINOR = 10**12


def check_currency(currency: str) -> None:
    """Refuse a code that is not an ISO 4217 currency."""
    if not is_currency(currency):
        raise ValidationError(
            f"currency {currency!r} is not an ISO 4217 code (like USD, EUR, JPY, KWD)"
        )


def to_minor(amount: str, currency: str) -> int:
    """Convert `36` or `1.50` (major units) to integer minor units, refusing any rounding."""
    try:
        return parse_amount(amount, currency, maximum=MAX_MINOR)
    except AmountError as exc:
        raise ValidationError(str(exc)) from exc
