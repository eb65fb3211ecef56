"""Invites: create with uses and expiry, copy link, QR code, revoke."""

import io
from datetime import timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from pydantic import ValidationError

from coordinator_service.dashboard import actions, queries
from coordinator_service.dashboard.web import (
    AdminDep,
    CsrfDep,
    DbDep,
    SecureRoute,
    WriteDbDep,
    render,
)
from streamr_protocol.invite import format_invite_link
from streamr_protocol.models import InviteCreateRequest

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
    public: str = getattr(request.app.state, "public_url", "") or str(request.base_url)
    return public.rstrip("/")


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
        (invite, joined, queries.invite_state(invite, now))
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
    try:
        wanted = InviteCreateRequest(
            uses=int(uses) if uses.strip().isdigit() else 0,
            expires_in_s=EXPIRY_CHOICES[expires],
            note=note.strip(),
        )
    except ValidationError:
        return await _page(
            request,
            db,
            error="Uses must be a whole number from 1 to 10000; the note at most 200 characters.",
            status_code=400,
        )
    expires_in = timedelta(seconds=wanted.expires_in_s) if wanted.expires_in_s else None
    invite, code = await actions.create_invite(
        db, wanted.uses, expires_in, wanted.note, queries.utcnow()
    )
    link = format_invite_link(coordinator_url(request), code)
    created = {"invite": invite, "link": link, "qr": qr_svg(link)}
    return await _page(request, db, created=created)


@router.post("/invites/{invite_id}/revoke")
async def revoke_invite(
    request: Request, invite_id: str, _admin: AdminDep, _csrf: CsrfDep, db: WriteDbDep
) -> Response:
    """Revoke an invite."""
    try:
        await actions.revoke_invite(db, invite_id, queries.utcnow())
    except actions.ActionError:
        return render(request, "not_found.html", {"what": "invite"}, status_code=404)
    return RedirectResponse("/invites", status_code=303)
