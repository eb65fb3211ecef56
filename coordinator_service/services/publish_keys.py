"""Per-stream publish keys: OBS publishes `NAME?key=KEY`; SRS's on_publish hook checks the key.

Stream names are public (watch URLs carry them), so without a key anyone who reaches the RTMP
port could make a stream live (and the pool accrue) or replace its picture. The key is stored in
clear like the hook secret (the host must be able to show it again) and compared in constant
time.
"""

import hmac
import secrets
from urllib.parse import parse_qs

from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.errors import AuthError
from coordinator_service.storage.models import Stream

__all__ = ["check_publish_key", "new_publish_key", "obs_stream_key", "rotate_publish_key"]


def new_publish_key() -> str:
    """Return a fresh random key (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def obs_stream_key(name: str, key: str) -> str:
    """Return what the host puts in OBS's "Stream Key" field."""
    return f"{name}?key={key}"


def _key_in(param: str) -> str:
    """Return the `key` of SRS's `param` (`?key=…&…`), or ""."""
    values = parse_qs(param.lstrip("?"), keep_blank_values=True).get("key", [""])
    return values[0]


def check_publish_key(stream: Stream, param: str) -> None:
    """Raise AuthError unless `param` carries the stream's publish key (constant time)."""
    given = _key_in(param)
    stored = stream.publish_key or ""
    if not stored or not hmac.compare_digest(stored.encode(), given.encode()):
        raise AuthError(
            f"wrong or missing publish key for stream {stream.name!r}: publish as "
            f"{stream.name}?key=KEY (`streamr-coordinator stream key {stream.name}` shows it)",
            code="bad_publish_key",
        )


async def rotate_publish_key(session: AsyncSession, stream: Stream) -> str:
    """Give the stream a new key (the old one stops working at the next publish); commit."""
    stream.publish_key = new_publish_key()
    await session.commit()
    return stream.publish_key
