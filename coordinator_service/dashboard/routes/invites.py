"""Invites: create with uses and expiry, copy link, QR code, revoke."""

import io
from datetime import timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup

from coordinator_service.dashboard import queries
from coordinator_service.dashboard.env import get_env
from coordinator_service.dashboard.web import (
    AdminDep,
    CsrfDep,
    DbDep,
    SecureRoute,
    WriteDbDep,
    render,
)
from coordinator_service.errors import Error, NotFoundError
from coordinator_service.services import invites as invites_service
from streamr_protocol.invite import format_invite_link

router = APIRouter(route_class=SecureRoute, include_in_schema=False)

EXPIRY_CHOICES = {"1h": 3600, "1d": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "never": None}


def qr_svg(text: str) -> Markup:
    """Return a QR code of `text` as inline SVG."""
    out = io.BytesIO()
    segno.make(text, error="m").save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        scale=4,
        border=2,
        title="Invite QR code",
        svgclass="qr",
        lineclass=None,
    )
    return Markup(out.getvalue().decode())


def coordinator_url(request: Request) -> str:
    """Return the coordinator's address as the host reached it."""
    return (get_env(request).public_url or str(request.base_url)).rstrip("/")


async def _page(
    request: Request,
    db: DbDep,
    *,
    error: str = "",
    created: dict[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    now = queries.utcnow()
    rows = [
        (invite, joined, invites_service.invite_status(invite, now))
        for invite, joined in await queries.list_invites(db)
    ]
    return render(
        request,
        "invites.html",
        {"rows": rows, "error": error, "created": created, "expiry_choices": EXPIRY_CHOICES},
        status_code=status_code,
    )


@router.get("/invites")
async def invites_page(request: Request, _admin: AdminDep, db: DbDep) -> Response:
    """List invites and offer the create form."""
    return await _page(request, db)


@router.post("/invites")
async def create_invite(
    request: Request,
    _admin: AdminDep,
    _csrf: CsrfDep,
    db: WriteDbDep,
    uses: Annotated[str, Form(max_length=16)] = "1",
    expires: Annotated[str, Form(max_length=16)] = "7d",
    note: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Create an invite and show its link and QR code (shown once: only a hash is kept)."""
    if expires not in EXPIRY_CHOICES:
        return await _page(request, db, error="Pick an expiry from the list.", status_code=400)
    if not uses.strip().isdigit():
        return await _page(request, db, error="Uses must be a whole number.", status_code=400)
    seconds = EXPIRY_CHOICES[expires]
    try:
        created = await invites_service.create_invite(
            db,
            uses=int(uses),
            expires_in=timedelta(seconds=seconds) if seconds else None,
            note=note.strip(),
            created_by="dashboard",
        )
    except Error as exc:
        await db.rollback()
        return await _page(request, db, error=exc.message, status_code=400)
    invite, code = created.invite, created.code
    link = format_invite_link(coordinator_url(request), code)
    shown = {"invite": invite, "link": link, "qr": qr_svg(link)}
    return await _page(request, db, created=shown)


@router.post("/invites/{invite_id}/revoke")
async def revoke_invite(
    request: Request, invite_id: str, _admin: AdminDep, _csrf: CsrfDep, db: WriteDbDep
) -> Response:
    """Revoke an invite."""
    try:
        await invites_service.revoke_invite(db, invite_id)
    except NotFoundError:
        return render(request, "not_found.html", {"what": "invite"}, status_code=404)
    return RedirectResponse("/invites", status_code=303)
