"""Sign in with the admin token or a one-time link, and sign out."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from coordinator_service.dashboard.auth import (
    redeem_login_code,
    revoke_session,
    token_fingerprint,
    tokens_equal,
)
from coordinator_service.dashboard.web import (
    CsrfDep,
    EnvDep,
    SecureRoute,
    SessionDep,
    WriteDbDep,
    current_session,
    render,
    replace_session,
    signer_of,
)


async def _sign_in_limit(request: Request, env: EnvDep) -> None:
    await env.sign_in_limit(request.client.host if request.client else "unknown")


sign_in_limited = Depends(_sign_in_limit)
"""Sign-in attempts per client address, counted like joins."""

router = APIRouter(route_class=SecureRoute, include_in_schema=False)


def _safe_next(next_path: str) -> str:
    """Return a local path to go to after signing in (never another site)."""
    if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return "/"
    return next_path


@router.get("/login")
async def login_form(request: Request, _session: SessionDep, next: str = "/") -> Response:
    """Show the sign-in form."""
    return render(request, "login.html", {"next": _safe_next(next), "error": ""})


@router.post("/login", dependencies=[sign_in_limited])  # sign-in attempts per IP, like joins
async def login(
    request: Request,
    env: EnvDep,
    _csrf: CsrfDep,
    token: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    """Sign in when the typed admin token is right."""
    expected = env.admin_token()
    if not tokens_equal(token.strip(), expected):
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "That is not the admin token."},
            status_code=401,
        )
    replace_session(request, signer_of(request).new_session(token_fingerprint(expected)))
    return RedirectResponse(_safe_next(next), status_code=303)


@router.get("/login/{code}", dependencies=[sign_in_limited])
async def login_link(request: Request, code: str, env: EnvDep, db: WriteDbDep) -> Response:
    """Sign in with a one-time link from `streamr-coordinator dashboard-link`."""
    if not await redeem_login_code(db, code):
        return render(
            request,
            "login.html",
            {
                "next": "/",
                "error": "That sign-in link was used already or has expired.",
                "hint_command": "streamr-coordinator dashboard-link",
            },
            status_code=401,
        )
    replace_session(request, signer_of(request).new_session(token_fingerprint(env.admin_token())))
    # Not a redirect: a SameSite=Strict cookie set while following a link from elsewhere is
    # only sent on a navigation that starts on this site, so this page forwards at once.
    return render(request, "signed_in.html")


@router.post("/logout")
async def logout(request: Request, _csrf: CsrfDep, db: WriteDbDep) -> Response:
    """Sign out: the session is revoked on the server; the browser gets a fresh anonymous one."""
    await revoke_session(db, current_session(request))
    replace_session(request, signer_of(request).new_session())
    return RedirectResponse("/login", status_code=303)
