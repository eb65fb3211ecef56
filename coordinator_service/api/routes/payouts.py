"""Payout routes: the host computes, lists, exports, settles and voids; a node sees its earnings.

Host (admin token): `/api/v1/admin/payouts…` and `/api/v1/admin/probes`.
Node (node token): `/api/v1/nodes/me/earnings` and `/api/v1/nodes/me/probes`.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from coordinator_service.api.deps import NodeDep, SessionDep, WriteSessionDep, require_admin
from coordinator_service.api.routes.leaderboard import EstimatesDep
from coordinator_service.ledger import payouts as ledger
from coordinator_service.ledger.earnings import node_earnings, node_probes
from coordinator_service.services.clock import utcnow
from streamr_protocol.models import (
    ErrorResponse,
    NodeEarningsResponse,
    PayoutComputeRequest,
    PayoutLineResponse,
    PayoutListItem,
    PayoutResponse,
    ProbeRecord,
)

__all__ = ["node_router", "router"]

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["payouts"],
    dependencies=[require_admin],
    responses={401: {"model": ErrorResponse, "description": "missing or wrong admin token"}},
)
node_router = APIRouter(
    prefix="/api/v1/nodes/me",
    tags=["nodes"],
    responses={401: {"model": ErrorResponse, "description": "missing or wrong node token"}},
)

PayoutIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
_UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such payout"}
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    **_UNKNOWN,
    409: {"model": ErrorResponse, "description": "paid payouts cannot be voided and vice versa"},
}


def payout_response(view: ledger.PayoutView) -> PayoutResponse:
    """Map a stored payout to its wire shape."""
    return PayoutResponse(
        payout_id=view.payout_id,
        stream=view.stream,
        period_from=view.period_from,
        period_to=view.period_to,
        computed_at=view.computed_at,
        pool_minor=view.pool_minor,
        currency=view.currency,
        live_seconds=view.live_seconds,
        paid_at=view.paid_at,
        voided_at=view.voided_at,
        lines=[
            PayoutLineResponse(
                node_id=line.node_id,
                display_name=line.display_name,
                payout_handle=line.payout_handle,
                credited_seconds=line.credited_seconds,
                amount_minor=line.amount_minor,
            )
            for line in view.lines
        ],
    )


@router.post(
    "/payouts/compute",
    status_code=status.HTTP_201_CREATED,
    response_model=PayoutResponse,
    responses={
        200: {"model": PayoutResponse, "description": "dry run: computed, not stored"},
        404: {"model": ErrorResponse, "description": "unknown stream"},
        409: {"model": ErrorResponse, "description": "overlaps a payout that is not voided"},
        422: {"model": ErrorResponse, "description": "the period is empty or not over yet"},
    },
)
async def compute(
    body: PayoutComputeRequest, session: WriteSessionDep, response: Response
) -> PayoutResponse:
    """Compute and store the payout of a period (one stream, or all streams combined)."""
    view = await ledger.compute_payout(
        session, body.period_from, body.period_to, body.stream, now=utcnow(), dry_run=body.dry_run
    )
    if body.dry_run:
        response.status_code = status.HTTP_200_OK
    else:
        await session.commit()
    return payout_response(view)


@router.get("/payouts", response_model=list[PayoutListItem])
async def list_payouts(session: SessionDep) -> list[PayoutListItem]:
    """Every payout, newest period first, without lines."""
    return [
        PayoutListItem(
            payout_id=v.payout_id,
            stream=v.stream,
            period_from=v.period_from,
            period_to=v.period_to,
            computed_at=v.computed_at,
            pool_minor=v.pool_minor,
            currency=v.currency,
            live_seconds=v.live_seconds,
            nodes=v.node_count,
            paid_at=v.paid_at,
            voided_at=v.voided_at,
        )
        for v in await ledger.list_payouts(session)
    ]


@router.get("/payouts/{payout_id}", response_model=PayoutResponse, responses=_UNKNOWN)
async def get_payout(payout_id: PayoutIdPath, session: SessionDep) -> PayoutResponse:
    """One payout with its lines."""
    return payout_response(await ledger.get_payout(session, payout_id))


@router.get(
    "/payouts/{payout_id}/csv",
    response_class=Response,
    responses={**_UNKNOWN, 200: {"content": {"text/csv": {}}, "description": "the lines as CSV"}},
)
async def payout_csv(payout_id: PayoutIdPath, session: SessionDep) -> Response:
    """The payout's lines as CSV with the contract's header, amounts as decimals."""
    view = await ledger.get_payout(session, payout_id)
    return Response(
        ledger.payout_csv(view),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{view.payout_id}.csv"'},
    )


@router.post("/payouts/{payout_id}/mark-paid", response_model=PayoutResponse, responses=_CONFLICT)
async def mark_paid(payout_id: PayoutIdPath, session: WriteSessionDep) -> PayoutResponse:
    """Record that the payout was settled (idempotent: the first time is kept)."""
    view = await ledger.mark_paid(session, payout_id, now=utcnow())
    await session.commit()
    return payout_response(view)


@router.post("/payouts/{payout_id}/void", response_model=PayoutResponse, responses=_CONFLICT)
async def void(payout_id: PayoutIdPath, session: WriteSessionDep) -> PayoutResponse:
    """Void an unpaid payout so its period can be computed again (idempotent)."""
    view = await ledger.void_payout(session, payout_id, now=utcnow())
    await session.commit()
    return payout_response(view)


@router.get("/probes", response_model=list[ProbeRecord])
async def probes(
    session: SessionDep,
    node: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,32}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ProbeRecord]:
    """The newest probes, of every node or of one (`?node=ID`)."""
    return await node_probes(session, node, limit)


@node_router.get("/earnings", response_model=NodeEarningsResponse)
async def my_earnings(
    node: NodeDep,
    session: SessionDep,
    estimates: EstimatesDep,
    credit: Annotated[
        bool, Query(description="add `credit`: why time this period was or was not credited")
    ] = False,
) -> Response:
    """The caller's earnings today and this period (estimates), payouts and latest probes.

    `credit` is sent only to nodes that ask (`?credit=1`): older nodes refuse unknown fields.
    """
    earnings = await node_earnings(session, node.id, utcnow(), cache=estimates, credit=credit)
    body = earnings.model_dump_json(exclude=None if credit else {"credit"})
    return Response(body, media_type="application/json")


@node_router.get("/probes", response_model=list[ProbeRecord])
async def my_probes(
    node: NodeDep, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[ProbeRecord]:
    """The caller's own probe record, newest first."""
    return await node_probes(session, node.id, limit)
