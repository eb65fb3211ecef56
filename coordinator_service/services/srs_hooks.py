"""SRS `http_hooks`: the shared secret in the hook URL and what `on_publish`/`on_unpublish` do.

SRS posts JSON such as (SRS 6 documentation, `http_hooks` section)::

    {"server_id": "vid-werty", "service_id": "...", "action": "on_publish",
     "client_id": "9308h583", "ip": "192.168.1.10", "vhost": "__defaultVhost__", "app": "live",
     "tcUrl": "rtmp://127.0.0.1:1935/live", "stream": "livestream", "param": "?k=v",
     "stream_url": "video.test.com/live/livestream", "stream_id": "vid-124q9y3"}

and wants HTTP 200 with `{"code": 0}` (or a plain `0`); anything else makes SRS refuse the publish.
"""

import hmac
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.errors import AuthError
from coordinator_service.prober.origin import record_hook
from coordinator_service.services.app_settings import get_setting, put_settings
from coordinator_service.services.clock import utcnow
from coordinator_service.services.publish_keys import check_publish_key
from coordinator_service.storage.models import Stream

__all__ = [
    "HOOK_PATH",
    "SRS_HOOK_SECRET",
    "HookEvent",
    "HookOutcome",
    "check_hook_secret",
    "handle_hook",
    "hook_secret",
    "hook_url",
    "rotate_hook_secret",
]

logger = logging.getLogger(__name__)

SRS_HOOK_SECRET = "srs_hook_secret"
HOOK_PATH = "/api/v1/hooks/srs/{secret}"


@dataclass(frozen=True)
class HookEvent:
    """The fields of an SRS hook call the coordinator uses."""

    action: str
    app: str
    stream: str
    param: str = ""


@dataclass(frozen=True)
class HookOutcome:
    """What a hook call did, for the log and the tests."""

    stream: str | None
    live: bool | None
    changed: bool
    note: str


async def hook_secret(session: AsyncSession) -> str:
    """Return the hook secret, making and storing one on first use."""
    secret = await get_setting(session, SRS_HOOK_SECRET)
    if secret:
        return secret
    return await rotate_hook_secret(session)


async def rotate_hook_secret(session: AsyncSession) -> str:
    """Replace the hook secret (the old hook URL stops working) and return the new one."""
    secret = secrets.token_urlsafe(24)
    await put_settings(session, {SRS_HOOK_SECRET: secret})
    return secret


def hook_url(base_url: str, secret: str) -> str:
    """Return the URL to put in SRS's `on_publish`/`on_unpublish`."""
    return base_url.rstrip("/") + HOOK_PATH.format(secret=secret)


async def check_hook_secret(session: AsyncSession, given: str) -> None:
    """Raise AuthError unless `given` is the stored hook secret (compared in constant time)."""
    stored = await get_setting(session, SRS_HOOK_SECRET)
    if not stored or not hmac.compare_digest(stored.encode(), given.encode()):
        raise AuthError(
            "wrong SRS hook secret: copy the URL from `streamr-coordinator hooks url`",
            code="bad_hook_secret",
        )


def _origin_matches(origin_url: str, app: str, name: str) -> bool:
    """Tell whether the stream's origin playlist is SRS's `/{app}/{name}.m3u8`."""
    path = urlsplit(origin_url).path
    return path.endswith(f"/{app}/{name}.m3u8")


async def handle_hook(session: AsyncSession, event: HookEvent) -> HookOutcome:
    """Mark the named stream live (`on_publish`) or off-air (`on_unpublish`) at once."""
    if event.action not in ("on_publish", "on_unpublish"):
        return HookOutcome(None, None, False, f"{event.action} ignored")
    stream = await session.scalar(select(Stream).where(Stream.name == event.stream))
    if stream is None or not _origin_matches(stream.origin_url, event.app, event.stream):
        logger.info("SRS %s for %s/%s: not a stream of ours", event.action, event.app, event.stream)
        return HookOutcome(None, None, False, "not a stream of this coordinator")
    live = event.action == "on_publish"
    if live:
        check_publish_key(stream, event.param)  # AuthError: SRS refuses the publish
    changed = bool(stream.live) != live
    await record_hook(session, stream.id, live, utcnow())
    await session.commit()
    logger.info("SRS %s: stream %s is %s", event.action, stream.name, "live" if live else "off")
    return HookOutcome(stream.name, live, changed, "ok")
