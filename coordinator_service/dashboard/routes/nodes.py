"""Nodes: state, reputation and its history, probe log with reasons, ban and unban, and the
host's answer to nodes credited from one address (approve them, keep one, withdraw)."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from coordinator_service.dashboard import charts, queries
from coordinator_service.dashboard.env import DashboardEnv
from coordinator_service.dashboard.web import (
    AdminDep,
    CsrfDep,
    DbDep,
    EnvDep,
    SecureRoute,
    WriteDbDep,
    is_live_refresh,
    render,
)
from coordinator_service.errors import Error, NotFoundError
from coordinator_service.ledger import shared_addresses
from coordinator_service.ledger.earnings import current_period_start
from coordinator_service.prober.reputation import FLAG_BELOW
from coordinator_service.services import nodes as nodes_service

router = APIRouter(route_class=SecureRoute, include_in_schema=False)

PER_PAGE = 100
ADDRESS_ACTIONS = ("approve", "keep_one", "withdraw")


@router.get("/nodes")
async def nodes_page(
    request: Request,
    _admin: AdminDep,
    env: EnvDep,
    db: DbDep,
    state: Annotated[str, Query(max_length=16)] = "",
    q: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """List nodes, a hundred a page, filtered by state or name."""
    return await _nodes_list(request, env, db, state, q, page)


async def _nodes_list(
    request: Request,
    env: DashboardEnv,
    db: AsyncSession,
    state: str = "",
    q: str = "",
    page: int = 1,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    if state not in queries.NODE_STATES:
        state = ""
    now = queries.utcnow()
    rows, total = await queries.list_nodes(
        db, now, env.silent_after_s, state=state, search=q.strip(), page=page, per_page=PER_PAGE
    )
    pages = max(1, -(-total // PER_PAGE))
    return render(
        request,
        "nodes.html",
        {
            "rows": rows,
            "total": total,
            "state": state,
            "q": q,
            "page": page,
            "pages": pages,
            "states": queries.NODE_STATES,
            "shared": await queries.shared_on_page_load(db, now, is_live_refresh(request)),
            "why_one_share": shared_addresses.WHY_ONE_SHARE,
            "back": "nodes",
            "error": error,
        },
        status_code=status_code,
    )


@router.post("/nodes/addresses")
async def decide_address(
    request: Request,
    _admin: AdminDep,
    _csrf: CsrfDep,
    env: EnvDep,
    db: WriteDbDep,
    stream: Annotated[str, Form(max_length=64)],
    address: Annotated[str, Form(max_length=64)],
    action: Annotated[str, Form(max_length=16)],
    max_nodes: Annotated[int | None, Form(ge=2, le=shared_addresses.MAX_APPROVED)] = None,
    back: Annotated[str, Form(max_length=16)] = "nodes",
) -> Response:
    """Approve the nodes at one address on a stream, keep one of them, or withdraw that."""
    if action not in ADDRESS_ACTIONS:
        return render(request, "not_found.html", {"what": "action"}, status_code=404)
    now = queries.utcnow()
    try:
        if action == "approve":
            await shared_addresses.approve_address(db, stream, address, max_nodes, now)
        elif action == "keep_one":
            await shared_addresses.keep_one(db, stream, address, now)
        else:
            await shared_addresses.withdraw_approval(db, stream, address, now)
    except Error as exc:
        await db.rollback()
        return await _nodes_list(request, env, db, error=exc.message, status_code=400)
    target = "/" if back == "overview" else "/nodes"
    return RedirectResponse(f"{target}#shared-addresses", status_code=303)


@router.get("/nodes/{node_id}")
async def node_page(
    request: Request, node_id: str, _admin: AdminDep, env: EnvDep, db: DbDep
) -> Response:
    """Show one node: reputation history, probe log with reasons, flags, ban/unban."""
    detail = await queries.node_detail(db, node_id, queries.utcnow(), env.silent_after_s)
    if detail is None:
        return render(request, "not_found.html", {"what": "node"}, status_code=404)
    spark = charts.sparkline(
        detail.reputation_history, "Reputation after each probe", mark=FLAG_BELOW
    )
    now = queries.utcnow()
    period = {  # the unpaid period so far, as the payout preview would explain it
        "period_from": (await current_period_start(db, now)).strftime("%Y-%m-%dT%H:%M:%S"),
        "period_to": now.strftime("%Y-%m-%dT%H:%M:%S"),
        "node": node_id,
    }
    return render(
        request,
        "node.html",
        {
            "d": detail,
            "n": detail.row.node,
            "spark": spark,
            "credit_url": "/payouts/reasons?" + urlencode(period),
        },
    )


@router.post("/nodes/{node_id}/{verb}")
async def ban_node(
    request: Request,
    node_id: str,
    verb: str,
    _admin: AdminDep,
    _csrf: CsrfDep,
    db: WriteDbDep,
    back: Annotated[str, Form(max_length=16)] = "node",
) -> Response:
    """Ban a node or lift its ban."""
    if verb not in ("ban", "unban"):
        return render(request, "not_found.html", {"what": "action"}, status_code=404)
    try:
        await nodes_service.set_banned(db, node_id, verb == "ban")
    except NotFoundError:
        return render(request, "not_found.html", {"what": "node"}, status_code=404)
    target = "/nodes" if back == "list" else f"/nodes/{node_id}"
    return RedirectResponse(target, status_code=303)
