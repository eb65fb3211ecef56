"""Domain errors of the coordinator; the API maps each `code` to one HTTP status.

Error
├── NotFoundError            unknown_stream, unknown_invite, unknown_node
├── ConflictError            stream_exists, stream_in_use
├── InviteError              invite_invalid, invite_expired, invite_used_up, invite_revoked
├── AuthError                bad_node_token, bad_admin_token
├── ValidationError          bad_input (CLI arguments, durations, amounts)
└── StorageError             database unreachable or not migrated
"""

__all__ = [
    "AuthError",
    "ConflictError",
    "Error",
    "InviteError",
    "NotFoundError",
    "StorageError",
    "ValidationError",
]


class Error(Exception):
    """Base of every coordinator error; `code` is stable, the message is one clear line."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFoundError(Error):
    """Something named in the request does not exist."""

    code = "not_found"


class ConflictError(Error):
    """The request collides with what is stored."""

    code = "conflict"


class InviteError(Error):
    """An invite code that cannot be redeemed; `code` says why."""

    code = "invite_invalid"


class AuthError(Error):
    """A missing or wrong token."""

    code = "bad_token"


class ValidationError(Error):
    """Input that is well-formed JSON but makes no sense."""

    code = "bad_input"


class StorageError(Error):
    """The database cannot be used."""

    code = "storage_error"
