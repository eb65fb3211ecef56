"""Errors of the ledger; each carries a stable `code` the API maps to an HTTP status.

LedgerError
├── PayoutNotFoundError   unknown_payout, unknown_stream, unknown_node   (404)
├── PayoutConflictError   payout_overlap, payout_voided, payout_paid     (409)
└── PayoutInputError      bad_input                                      (422)
"""

__all__ = ["LedgerError", "PayoutConflictError", "PayoutInputError", "PayoutNotFoundError"]


class LedgerError(Exception):
    """Base of ledger errors; the message is one clear line."""

    code = "ledger_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class PayoutNotFoundError(LedgerError):
    """A payout or stream named in the request does not exist."""

    code = "not_found"


class PayoutConflictError(LedgerError):
    """The request collides with a stored payout."""

    code = "conflict"


class PayoutInputError(LedgerError):
    """A period or option that makes no sense."""

    code = "bad_input"
