"""Random identifiers, tokens and invite codes, and the hashes we store instead of them."""

import hashlib
import hmac
import secrets

__all__ = ["hash_secret", "new_code", "new_id", "new_token", "same_secret"]


def new_id() -> str:
    """Return a short random id for a row people refer to (16 hex digits)."""
    return secrets.token_hex(8)


def new_token() -> str:
    """Return a bearer token with 256 random bits (URL-safe text)."""
    return secrets.token_urlsafe(32)


def new_code() -> str:
    """Return an invite code with 192 random bits (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def hash_secret(secret: str) -> str:
    """Return the SHA-256 hex digest stored in place of a token or code."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Compare two secrets in constant time."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )
