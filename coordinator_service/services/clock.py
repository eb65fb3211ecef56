"""The coordinator's clock: every uptime and expiry is measured by it, never by a node's."""

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)
