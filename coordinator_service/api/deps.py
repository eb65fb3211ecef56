"""Dependencies of the routes, as `Annotated` aliases: SessionDep, AdminDep, NodeDep, ..."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.api.state import AppContext, context
from coordinator_service.errors import AuthError
from coordinator_service.services.nodes import authenticate_node
from coordinator_service.services.tokens import hash_secret, same_secret
from coordinator_service.storage.models import Node

__all__ = [
    "AdminDep",
    "ClientIpDep",
    "ContextDep",
    "NodeDep",
    "NodeTokenDep",
    "SessionDep",
    "WriteSessionDep",
    "bearer_token",
    "ip_limited",
    "register_limited",
    "require_admin",
]

_node_bearer = HTTPBearer(
    auto_error=False, scheme_name="NodeToken", description="the node token from registration"
)
_admin_bearer = HTTPBearer(
    auto_error=False, scheme_name="AdminToken", description="the admin token in the data dir"
)


async def _context(request: Request) -> AppContext:
    return context(request.app)


ContextDep = Annotated[AppContext, Depends(_context)]


async def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientIpDep = Annotated[str, Depends(_client_ip)]


async def _session(ctx: ContextDep) -> AsyncIterator[AsyncSession]:
    async with ctx.db.session() as session:
        yield session


async def _write_session(ctx: ContextDep) -> AsyncIterator[AsyncSession]:
    async with ctx.db.transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]
"""A session for reading."""
WriteSessionDep = Annotated[AsyncSession, Depends(_write_session)]
"""A session for writing (services commit); on SQLite it holds the single writer connection."""


async def _ip_limit(ctx: ContextDep, ip: ClientIpDep) -> None:
    await ctx.limits.hit("ip", ip)


ip_limited = Depends(_ip_limit)
"""Use as `dependencies=[ip_limited]`: counts the request against its client IP."""


async def _register_limit(ctx: ContextDep, ip: ClientIpDep) -> None:
    await ctx.limits.hit("register", ip)


register_limited = Depends(_register_limit)
"""Use on the join route: counts registrations per client IP."""


def bearer_token(authorization: str | None, who: str) -> str:
    """Return the token of an `Authorization: Bearer TOKEN` header, or raise AuthError."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError(
            f"this call needs 'Authorization: Bearer {who.upper()}_TOKEN'", code="missing_token"
        )
    if len(token) > 256:
        raise AuthError(f"the {who} token is not valid", code=f"bad_{who}_token")
    return token


def _token(credentials: HTTPAuthorizationCredentials | None, who: str) -> str:
    if credentials is None:
        return bearer_token(None, who)
    return bearer_token(f"Bearer {credentials.credentials}", who)


async def _node_token(
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_node_bearer)],
) -> str:
    token = _token(credentials, "node")
    await ctx.limits.hit("node", hash_secret(token)[:32])
    return token


NodeTokenDep = Annotated[str, Depends(_node_token)]
"""The caller's node token, rate limited per token but not yet checked against the database."""


async def _node(ctx: ContextDep, token: NodeTokenDep, session: SessionDep, ip: ClientIpDep) -> Node:
    try:
        return await authenticate_node(session, token)
    except AuthError:
        await ctx.limits.hit("ip", ip)
        raise


NodeDep = Annotated[Node, Depends(_node)]
"""The node whose token the caller presents (401 otherwise)."""


async def _admin(
    ctx: ContextDep,
    ip: ClientIpDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_bearer)],
) -> None:
    token = _token(credentials, "admin")
    if not ctx.admin_token or not same_secret(token, ctx.admin_token):
        await ctx.limits.hit("ip", ip)
        raise AuthError("the admin token is not valid", code="bad_admin_token")


AdminDep = Annotated[None, Depends(_admin)]
"""A parameter that requires the admin token."""
require_admin = Depends(_admin)
"""Use as `dependencies=[require_admin]` on host-only routers."""
