"""Errors of the ledger, in the coordinator's tree (the API maps each base to its status).

coordinator_service.errors.Error
├── NotFoundError → PayoutNotFoundError     unknown_payout, unknown_stream, unknown_node  (404)
├── ConflictError → PayoutConflictError     payout_overlap, payout_voided, payout_paid    (409)
└── ValidationError → PayoutInputError      bad_input                                     (422)
"""

from coordinator_service.errors import ConflictError, NotFoundError, ValidationError

__all__ = ["PayoutConflictError", "PayoutInputError", "PayoutNotFoundError"]


class PayoutNotFoundError(NotFoundError):
    """A payout or stream named in the request does not exist."""


class PayoutConflictError(ConflictError):
    """The request collides with a stored payout."""


class PayoutInputError(ValidationError):
    """A period or option that makes no sense."""
