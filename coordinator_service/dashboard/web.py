"""The dashboard's plumbing: templates, the secure route class, session and CSRF dependencies."""

from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.dashboard import money
from coordinator_service.dashboard.auth import (
    COOKIE_NAME,
    SESSION_TTL_S,
    Session,
    SessionSigner,
    is_revoked,
    token_fingerprint,
)
from coordinator_service.dashboard.env import DashboardEnv, get_env
from coordinator_service.services.nodes import PRIVATE_ADDRESS_FIX

__all__ = [
    "ADMIN_CSP",
    "AdminDep",
    "CsrfDep",
    "DbDep",
    "EnvDep",
    "LoginRequiredError",
    "SecureRoute",
    "SessionDep",
    "WriteDbDep",
    "CsrfRefusedError",
    "is_live_refresh",
    "render",
    "signer_of",
    "templates",
]

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["private_address_fix"] = PRIVATE_ADDRESS_FIX
templates.env.filters["money"] = money.format_minor
templates.env.filters["amount"] = money.format_amount
templates.env.filters["duration"] = money.format_duration
templates.env.filters["bytes"] = money.format_bytes
templates.env.filters["ago"] = money.format_ago
templates.env.filters["when"] = money.format_when

ADMIN_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class LoginRequiredError(Exception):
    """The page needs a signed-in host; answered with a redirect to the sign-in form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefusedError(Exception):
    """A form came without this session's CSRF token; answered with 403."""


def signer_of(request: Request) -> SessionSigner:
    """Return the app's session signer, made once from the data dir's secret."""
    return get_env(request).signer


def current_session(request: Request) -> Session:
    """Return the visitor's session, starting an anonymous one (set by SecureRoute)."""
    cached: Session | None = getattr(request.state, "session", None)
    if cached is not None:
        return cached
    signer = signer_of(request)
    session = signer.loads(request.cookies.get(COOKIE_NAME))
    if session is None:
        session = signer.new_session()
        request.state.set_session = session
    request.state.session = session
    return session


def replace_session(request: Request, session: Session) -> None:
    """Make `session` the visitor's session from this response on (sign in, sign out)."""
    request.state.session = session
    request.state.set_session = session


async def require_admin(
    request: Request, session: Annotated[Session, Depends(current_session)]
) -> Session:
    """Return the signed-in host's session or send the visitor to the sign-in form.

    A session signed out (revoked on the server) counts as not signed in, on every request.
    """
    env = get_env(request)
    expected = env.admin_token()
    signed_in = bool(session.admin) and bool(expected)
    if signed_in and session.admin == token_fingerprint(expected):
        async with env.session() as db:
            if not await is_revoked(db, session):
                return session
    next_path = request.url.path
    if request.url.query:
        next_path += "?" + request.url.query
    raise LoginRequiredError(next_path)


async def check_csrf(
    request: Request, session: Annotated[Session, Depends(current_session)]
) -> None:
    """Refuse a form that does not carry this session's CSRF token."""
    form = await request.form()
    given = form.get("csrf_token")
    if not isinstance(given, str) or not signer_of(request).csrf_ok(session, given):
        raise CsrfRefusedError()


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield a database session for reading."""
    async with get_env(request).session() as db:
        yield db


async def db_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield a database session for writing (the route commits)."""
    async with get_env(request).transaction() as db:
        yield db


SessionDep = Annotated[Session, Depends(current_session)]
AdminDep = Annotated[Session, Depends(require_admin)]
CsrfDep = Annotated[None, Depends(check_csrf)]
DbDep = Annotated[AsyncSession, Depends(db_session)]
WriteDbDep = Annotated[AsyncSession, Depends(db_transaction)]
EnvDep = Annotated[DashboardEnv, Depends(get_env)]


def apply_headers(request: Request, response: Response) -> None:
    """Add the security headers and the session cookie to a dashboard response."""
    headers = response.headers
    headers.setdefault("content-security-policy", ADMIN_CSP)
    headers.setdefault("x-frame-options", "DENY")
    headers.setdefault("x-content-type-options", "nosniff")
    headers.setdefault("referrer-policy", "same-origin")
    headers.setdefault("cache-control", "no-store")
    session: Session | None = getattr(request.state, "set_session", None)
    if session is not None:
        response.set_cookie(
            COOKIE_NAME,
            signer_of(request).dumps(session),
            max_age=SESSION_TTL_S,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )


class SecureRoute(APIRoute):
    """A route whose every response carries security headers and the session cookie."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            response = await original(request)
            apply_headers(request, response)
            return response

        return handler


def is_live_refresh(request: Request) -> bool:
    """Tell whether the page is fetched by app.js to refresh its `data-live` regions."""
    return request.headers.get("x-live-refresh") == "1"


def render(
    request: Request, name: str, context: Mapping[str, Any] | None = None, status_code: int = 200
) -> Response:
    """Render a template with the session's CSRF token and the signed-in flag."""
    session = current_session(request)
    expected = get_env(request).admin_token()
    data: dict[str, Any] = {
        "csrf_token": signer_of(request).csrf_token(session),
        "signed_in": bool(session.admin)
        and bool(expected)
        and session.admin == token_fingerprint(expected),
        "path": request.url.path,
    }
    data.update(context or {})
    return templates.TemplateResponse(request, name, data, status_code=status_code)
