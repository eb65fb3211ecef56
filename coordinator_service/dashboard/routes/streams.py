"""Streams: add, edit, pause; origin health and pool per hour."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from coordinator_service.dashboard import actions, queries
from coordinator_service.dashboard.money import AmountError, parse_amount
from coordinator_service.dashboard.web import (
    AdminDep,
    CsrfDep,
    DbDep,
    EnvDep,
    SecureRoute,
    WriteDbDep,
    render,
)
from streamr_protocol.models import StreamCreateRequest, StreamUpdateRequest

router = APIRouter(route_class=SecureRoute, include_in_schema=False)

_DONE = {
    "added": "Stream added.",
    "saved": "Stream saved.",
    "paused": "Stream paused.",
    "resumed": "Stream resumed.",
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


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg"))


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
        minor = parse_amount(pool_per_hour, currency)
        wanted = StreamCreateRequest(
            name=name.strip(),
            origin_url=origin_url.strip(),
            pool_per_hour_minor=minor,
            currency=currency,
        )
        await actions.create_stream(
            db,
            wanted.name,
            str(wanted.origin_url),
            wanted.pool_per_hour_minor,
            wanted.currency,
            queries.utcnow(),
        )
    except ValidationError as exc:
        return await _page(request, env, db, _first_error(exc), 400, form)
    except (AmountError, actions.ActionError) as exc:
        return await _page(request, env, db, str(exc), 400, form)
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
        if action in ("pause", "resume"):
            await actions.update_stream(db, name, paused=action == "pause")
            done = "paused" if action == "pause" else "resumed"
        else:
            minor = parse_amount(pool_per_hour, currency.strip().upper() or "USD")
            wanted = StreamUpdateRequest(
                origin_url=origin_url.strip() or None, pool_per_hour_minor=minor
            )
            await actions.update_stream(
                db,
                name,
                origin_url=str(wanted.origin_url) if wanted.origin_url else None,
                pool_per_hour_minor=wanted.pool_per_hour_minor,
            )
            done = "saved"
    except ValidationError as exc:
        return await _page(request, env, db, _first_error(exc), 400)
    except (AmountError, actions.ActionError) as exc:
        return await _page(request, env, db, str(exc), 400)
    return RedirectResponse(f"/streams?done={done}", status_code=303)
