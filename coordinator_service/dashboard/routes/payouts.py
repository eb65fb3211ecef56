"""Payouts: preview a period, save exactly what was previewed, list, detail, CSV, mark paid."""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.dashboard import queries
from coordinator_service.dashboard.web import (
    AdminDep,
    CsrfDep,
    DbDep,
    SecureRoute,
    WriteDbDep,
    apply_headers,
    render,
)
from coordinator_service.errors import Error
from coordinator_service.ledger.errors import PayoutNotFoundError
from coordinator_service.ledger.explain import explain_credit
from coordinator_service.ledger.payouts import (
    PayoutView,
    compute_payout,
    get_payout,
    list_payouts,
    mark_paid,
    payout_csv,
    void_payout,
)
from coordinator_service.ledger.tally import NO_SLOT
from coordinator_service.storage.models import Stream

router = APIRouter(route_class=SecureRoute, include_in_schema=False)


class PeriodError(ValueError):
    """A typed period time is not a time."""


def parse_time(text: str, field: str) -> datetime:
    """Parse a form's time: `YYYY-MM-DDTHH:MM` (taken as UTC) or ISO 8601 with an offset."""
    cleaned = (text or "").strip()
    try:
        moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PeriodError(f"{field}: '{text}' is not a time like 2026-01-31T18:00") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def digest(view: PayoutView, csv_text: str | None = None) -> str:
    """Return a fingerprint of what a payout pays (its CSV, pool and live time)."""
    csv_text = payout_csv(view) if csv_text is None else csv_text
    text = f"{view.pool_minor}|{view.currency}|{view.live_seconds}|{csv_text}"
    return hashlib.sha256(text.encode()).hexdigest()


def _form_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


async def _stream_names(db: AsyncSession) -> list[str]:
    return list((await db.scalars(select(Stream.name).order_by(Stream.name))).all())


async def _list_page(
    request: Request,
    db: AsyncSession,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    now = queries.utcnow()
    top = now.replace(minute=0, second=0, microsecond=0)
    defaults = {
        "period_from": _form_time(top - timedelta(days=1)),
        "period_to": _form_time(top),
        "stream": "",
    }
    return render(
        request,
        "payouts.html",
        {
            "payouts": await list_payouts(db),
            "streams": await _stream_names(db),
            "error": error,
            "form": form or defaults,
        },
        status_code=status_code,
    )


@router.get("/payouts")
async def payouts_page(request: Request, _admin: AdminDep, db: DbDep) -> Response:
    """List payouts and offer the compute form."""
    return await _list_page(request, db)


async def _preview(
    request: Request,
    db: AsyncSession,
    form: dict[str, str],
    notice: str = "",
    status_code: int = 200,
) -> Response:
    try:
        view = await compute_payout(
            db,
            parse_time(form["period_from"], "from"),
            parse_time(form["period_to"], "to"),
            form["stream"] or None,
            now=queries.utcnow(),
            dry_run=True,
        )
    except (PeriodError, Error) as exc:
        return await _list_page(request, db, error=str(exc), form=form, status_code=400)
    csv_text = payout_csv(view)
    return render(
        request,
        "payout_preview.html",
        {
            "view": view,
            "csv": csv_text,
            "digest": digest(view, csv_text),
            "reasons_url": "/payouts/reasons?" + urlencode(form),
            "form": form,
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/payouts/reasons")
async def credit_reasons(
    request: Request,
    _admin: AdminDep,
    db: DbDep,
    period_from: Annotated[str, Query(max_length=64)] = "",
    period_to: Annotated[str, Query(max_length=64)] = "",
    stream: Annotated[str, Query(max_length=64)] = "",
    node: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Show each node's (or one `node`'s) time up in a period and why any of it is not credited.

    The payout preview and the node page load this into theirs (it works as a page of its own).
    """
    form = _period_form(period_from, period_to, stream)
    try:
        start, end = parse_time(period_from, "from"), parse_time(period_to, "to")
        if end <= start:
            raise PeriodError("the period must end after it starts")
        report = await explain_credit(db, start, end, stream or None)
        if node:
            report = [line for line in report if line.node_id == node]
    except PeriodError as exc:
        return await _list_page(request, db, error=str(exc), form=form, status_code=400)
    return render(
        request, "payout_reasons.html", {"report": report, "form": form, "no_slot": NO_SLOT}
    )


def _period_form(period_from: str, period_to: str, stream: str) -> dict[str, str]:
    return {"period_from": period_from, "period_to": period_to, "stream": stream}


@router.post("/payouts/preview")
async def preview_payout(
    request: Request,
    _admin: AdminDep,
    _csrf: CsrfDep,
    db: DbDep,
    period_from: Annotated[str, Form(max_length=64)] = "",
    period_to: Annotated[str, Form(max_length=64)] = "",
    stream: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Compute a payout without saving it and show it, its CSV and the credit reasons."""
    return await _preview(request, db, _period_form(period_from, period_to, stream))


@router.post("/payouts")
async def save_payout(
    request: Request,
    _admin: AdminDep,
    _csrf: CsrfDep,
    db: WriteDbDep,
    period_from: Annotated[str, Form(max_length=64)] = "",
    period_to: Annotated[str, Form(max_length=64)] = "",
    stream: Annotated[str, Form(max_length=64)] = "",
    preview_digest: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Save the payout, but only if it pays exactly what the host previewed."""
    form = _period_form(period_from, period_to, stream)
    try:
        view = await compute_payout(
            db,
            parse_time(period_from, "from"),
            parse_time(period_to, "to"),
            stream or None,
            now=queries.utcnow(),
        )
    except (PeriodError, Error) as exc:
        await db.rollback()
        return await _list_page(request, db, error=str(exc), form=form, status_code=400)
    if digest(view) != preview_digest:
        await db.rollback()
        return await _preview(
            request,
            db,
            form,
            "The numbers changed since the preview (new heartbeats or "
            "probes in the period): check this preview and save again.",
            status_code=409,
        )
    await db.commit()
    return RedirectResponse(f"/payouts/{view.payout_id}", status_code=303)


@router.get("/payouts/{payout_id}.csv")
async def payout_csv_file(
    request: Request, payout_id: str, _admin: AdminDep, db: DbDep
) -> Response:
    """Download a payout's CSV (the same text `payouts export` writes)."""
    try:
        view = await get_payout(db, payout_id)
    except PayoutNotFoundError:
        return render(request, "not_found.html", {"what": "payout"}, status_code=404)
    response = Response(
        payout_csv(view),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{view.payout_id}.csv"'},
    )
    apply_headers(request, response)
    return response


@router.get("/payouts/{payout_id}")
async def payout_page(request: Request, payout_id: str, _admin: AdminDep, db: DbDep) -> Response:
    """Show a saved payout: its lines, CSV link, and mark paid / void."""
    try:
        view = await get_payout(db, payout_id)
    except PayoutNotFoundError:
        return render(request, "not_found.html", {"what": "payout"}, status_code=404)
    done = {"paid": "Marked paid.", "voided": "Payout voided."}.get(
        request.query_params.get("done", ""), ""
    )
    return render(request, "payout.html", {"view": view, "done": done, "error": ""})


@router.post("/payouts/{payout_id}/{verb}")
async def settle_payout(
    request: Request,
    payout_id: str,
    verb: str,
    _admin: AdminDep,
    _csrf: CsrfDep,
    db: WriteDbDep,
) -> Response:
    """Mark a payout paid (idempotent) or void it."""
    if verb not in ("paid", "void"):
        return render(request, "not_found.html", {"what": "action"}, status_code=404)
    try:
        if verb == "paid":
            await mark_paid(db, payout_id, now=queries.utcnow())
        else:
            await void_payout(db, payout_id, now=queries.utcnow())
        await db.commit()
    except PayoutNotFoundError:
        await db.rollback()
        return render(request, "not_found.html", {"what": "payout"}, status_code=404)
    except Error as exc:
        await db.rollback()
        view = await get_payout(db, payout_id)
        return render(
            request, "payout.html", {"view": view, "done": "", "error": str(exc)}, status_code=409
        )
    done = "paid" if verb == "paid" else "voided"
    return RedirectResponse(f"/payouts/{payout_id}?done={done}", status_code=303)
