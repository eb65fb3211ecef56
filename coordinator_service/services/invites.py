"""Invites: one-time (or N-time) codes a host sends to friends; only their hashes are stored."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.errors import InviteError, NotFoundError, ValidationError
from coordinator_service.services.clock import utcnow
from coordinator_service.services.tokens import hash_secret, new_code, new_id
from coordinator_service.storage.models import Invite

__all__ = [
    "CreatedInvite",
    "create_invite",
    "invite_status",
    "list_invites",
    "redeem_invite",
    "revoke_invite",
]

MAX_USES = 10_000
MAX_EXPIRY = timedelta(days=365)


@dataclass(frozen=True)
class CreatedInvite:
    """A new invite and its code, which exists only here (the database keeps its hash)."""

    invite: Invite
    code: str


async def create_invite(
    session: AsyncSession,
    *,
    uses: int = 1,
    expires_in: timedelta | None = timedelta(days=7),
    note: str = "",
    created_by: str = "admin",
) -> CreatedInvite:
    """Create an invite and commit; the code is returned once."""
    if not 1 <= uses <= MAX_USES:
        raise ValidationError(f"uses must be between 1 and {MAX_USES}")
    if expires_in is not None and not timedelta(minutes=1) <= expires_in <= MAX_EXPIRY:
        raise ValidationError("an invite must expire between 1 minute and 365 days from now")
    if len(note) > 200:
        raise ValidationError("the note is longer than 200 characters")
    now = utcnow()
    code = new_code()
    invite = Invite(
        id=new_id(),
        code_hash=hash_secret(code),
        max_uses=uses,
        uses_left=uses,
        expires_at=now + expires_in if expires_in is not None else None,
        revoked_at=None,
        created_by=created_by,
        note=note,
        created_at=now,
    )
    session.add(invite)
    await session.commit()
    return CreatedInvite(invite, code)


async def list_invites(session: AsyncSession) -> list[Invite]:
    """Return every invite, newest first."""
    return list((await session.scalars(select(Invite).order_by(Invite.created_at.desc()))).all())


async def revoke_invite(session: AsyncSession, invite_id: str) -> Invite:
    """Revoke an invite (idempotent) and commit."""
    invite = await session.get(Invite, invite_id)
    if invite is None:
        raise NotFoundError(f"no invite with id {invite_id!r}", code="unknown_invite")
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        await session.commit()
    return invite


def invite_status(invite: Invite, now: datetime) -> str:
    """Return `active`, `revoked`, `expired` or `used`."""
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at is not None and invite.expires_at <= now:
        return "expired"
    if invite.uses_left <= 0:
        return "used"
    return "active"


async def check_invite(session: AsyncSession, code: str, now: datetime) -> str:
    """What joining with `code` would meet now, without using it: `invalid` or invite_status."""
    invite = await session.scalar(select(Invite).where(Invite.code_hash == hash_secret(code)))
    return "invalid" if invite is None else invite_status(invite, now)


async def redeem_invite(session: AsyncSession, code: str, now: datetime) -> str:
    """Use up one use of the invite with `code` (not committed); return its id.

    One conditional UPDATE, so two friends racing for the last use cannot both get it.
    """
    code_hash = hash_secret(code)
    redeemed = await session.scalar(
        update(Invite)
        .where(
            Invite.code_hash == code_hash,
            Invite.uses_left > 0,
            Invite.revoked_at.is_(None),
            or_(Invite.expires_at.is_(None), Invite.expires_at > now),
        )
        .values(uses_left=Invite.uses_left - 1)
        .returning(Invite.id)
    )
    if redeemed is not None:
        return str(redeemed)
    invite = await session.scalar(select(Invite).where(Invite.code_hash == code_hash))
    if invite is None:
        raise InviteError("this invite code is not valid", code="invite_invalid")
    status = invite_status(invite, now)
    if status == "revoked":
        raise InviteError("this invite was revoked by the host", code="invite_revoked")
    if status == "expired":
        raise InviteError(
            "this invite has expired; ask the host for a new one", code="invite_expired"
        )
    raise InviteError(
        "this invite has been used up; ask the host for a new one", code="invite_used_up"
    )
