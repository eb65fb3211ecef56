"""Streams: add, edit, pause; origin health and pool per hour."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from coordinator_service.dashboard import queries
from coordinator_service.dashboard.web import (
    AdminDep,
    CsrfDep,
    DbDep,
    EnvDep,
    SecureRoute,
    WriteDbDep,
    render,
)
from coordinator_service.errors import Error
from coordinator_service.money import to_minor
from coordinator_service.services import streams as streams_service
from coordinator_service.services.publish_keys import rotate_publish_key

router = APIRouter(route_class=SecureRoute, include_in_schema=False)

_DONE = {
    "added": "Stream added.",
    "saved": "Stream saved.",
    "paused": "Stream paused.",
    "resumed": "Stream resumed.",
    "key": "New publish key made: put it in OBS (Settings → Stream → Stream Key).",
}


async def _page(
    request: Request,
    env: EnvDep,
    db: DbDep,
    error: str = "",
    status_code: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    now = queries.utcnow()
    rows = await queries.list_streams(db, now, env.silent_after_s)
    done = _DONE.get(request.query_params.get("done", ""), "")
    return render(
        request,
        "streams.html",
        {"rows": rows, "error": error, "done": done, "form": form or {}},
        status_code=status_code,
    )


@router.get("/streams")
async def streams_page(request: Request, _admin: AdminDep, env: EnvDep, db: DbDep) -> Response:
    """List the streams with their origin health and pool."""
    return await _page(request, env, db)


@router.post("/streams")
async def add_stream(
    request: Request,
    _admin: AdminDep,
    _csrf: CsrfDep,
    env: EnvDep,
    db: WriteDbDep,
    name: Annotated[str, Form(max_length=200)] = "",
    origin_url: Annotated[str, Form(max_length=4096)] = "",
    pool_per_hour: Annotated[str, Form(max_length=64)] = "0",
    currency: Annotated[str, Form(max_length=8)] = "USD",
) -> Response:
    """Add a stream from the form, or show the page again with a one-line error."""
    form = {
        "name": name,
        "origin_url": origin_url,
        "pool_per_hour": pool_per_hour,
        "currency": currency,
    }
    try:
        currency = currency.strip().upper()
        await streams_service.create_stream(
            db, name.strip(), origin_url.strip(), to_minor(pool_per_hour, currency), currency
        )
    except Error as exc:
        return await _page(request, env, db, exc.message, 400, form)
    return RedirectResponse("/streams?done=added", status_code=303)


@router.post("/streams/{name}")
async def edit_stream(
    request: Request,
    name: str,
    _admin: AdminDep,
    _csrf: CsrfDep,
    env: EnvDep,
    db: WriteDbDep,
    origin_url: Annotated[str, Form(max_length=4096)] = "",
    pool_per_hour: Annotated[str, Form(max_length=64)] = "",
    currency: Annotated[str, Form(max_length=8)] = "USD",
    action: Annotated[str, Form(max_length=16)] = "save",
) -> Response:
    """Save a stream's origin and pool, or pause/resume it."""
    try:
        if action == "rotate-key":
            await rotate_publish_key(db, await streams_service.get_stream(db, name))
            return RedirectResponse("/streams?done=key", status_code=303)
        if action in ("pause", "resume"):
            changes = streams_service.StreamChanges(paused=action == "pause")
            done = "paused" if action == "pause" else "resumed"
        else:
            changes = streams_service.StreamChanges(
                origin_url=origin_url.strip(),
                pool_per_hour_minor=to_minor(pool_per_hour, currency.strip().upper() or "USD"),
            )
            done = "saved"
        await streams_service.update_stream(db, name, changes)
    except Error as exc:
        await db.rollback()
        return await _page(request, env, db, exc.message, 400)
    return RedirectResponse(f"/streams?done={done}", status_code=303)
