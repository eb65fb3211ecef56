"""Changes the dashboard makes (until the coordinator's services take them over)."""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.storage.models import Invite, Node, Stream

__all__ = [
    "ActionError",
    "create_invite",
    "create_stream",
    "revoke_invite",
    "set_banned",
    "update_stream",
]


class ActionError(Exception):
    """A change the host asked for cannot be made; the message says why in one line."""


async def create_stream(
    db: AsyncSession,
    name: str,
    origin_url: str,
    pool_per_hour_minor: int,
    currency: str,
    now: datetime,
) -> Stream:
    """Add a stream, refusing a name that is taken."""
    if await db.scalar(select(Stream.id).where(Stream.name == name)) is not None:
        raise ActionError(f"a stream named '{name}' already exists")
    stream = Stream(
        name=name,
        origin_url=origin_url,
        pool_per_hour_minor=pool_per_hour_minor,
        currency=currency,
        paused=False,
        live=False,
        created_at=now,
    )
    db.add(stream)
    await db.commit()
    return stream


async def update_stream(
    db: AsyncSession,
    name: str,
    *,
    origin_url: str | None = None,
    pool_per_hour_minor: int | None = None,
    paused: bool | None = None,
) -> Stream:
    """Change a stream's origin, pool or paused flag."""
    stream = await db.scalar(select(Stream).where(Stream.name == name))
    if stream is None:
        raise ActionError(f"there is no stream named '{name}'")
    if origin_url is not None:
        stream.origin_url = origin_url
    if pool_per_hour_minor is not None:
        stream.pool_per_hour_minor = pool_per_hour_minor
    if paused is not None:
        stream.paused = paused
    await db.commit()
    return stream


async def create_invite(
    db: AsyncSession, uses: int, expires_in: timedelta | None, note: str, now: datetime
) -> tuple[Invite, str]:
    """Create an invite and return it with its code (only the code's hash is stored)."""
    code = secrets.token_urlsafe(24)
    invite = Invite(
        id=uuid.uuid4().hex[:16],
        code_hash=hashlib.sha256(code.encode()).hexdigest(),
        max_uses=uses,
        uses_left=uses,
        expires_at=now + expires_in if expires_in else None,
        note=note,
        created_by="dashboard",
        created_at=now,
    )
    db.add(invite)
    await db.commit()
    return invite, code


async def revoke_invite(db: AsyncSession, invite_id: str, now: datetime) -> None:
    """Revoke an invite so no one else joins with it."""
    invite = await db.get(Invite, invite_id)
    if invite is None:
        raise ActionError("there is no such invite")
    if invite.revoked_at is None:
        invite.revoked_at = now
        await db.commit()


async def set_banned(db: AsyncSession, node_id: str, banned: bool) -> None:
    """Ban a node (no viewers, no earnings) or lift the ban."""
    node = await db.get(Node, node_id)
    if node is None:
        raise ActionError("there is no such node")
    node.status = "banned" if banned else "active"
    await db.commit()
