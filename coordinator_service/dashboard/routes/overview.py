"""The overview page: what is live now and the last 24 hours."""

from fastapi import APIRouter, Request, Response

from coordinator_service.dashboard import charts, queries, stats
from coordinator_service.dashboard.web import (
    AdminDep,
    DbDep,
    EnvDep,
    SecureRoute,
    is_live_refresh,
    render,
)
from coordinator_service.ledger import shared_addresses

router = APIRouter(route_class=SecureRoute, include_in_schema=False)


@router.get("/")
async def overview_page(request: Request, _admin: AdminDep, env: EnvDep, db: DbDep) -> Response:
    """Show the overview: streams live, nodes relaying, viewers, upload, probes, 24 h charts,
    and nodes credited from one address that wait for the host's answer."""
    now = queries.utcnow()
    data = await stats.overview(db, now, env.silent_after_s, env.hours)
    streams = await queries.list_streams(db, now, env.silent_after_s)
    nodes_chart = charts.bar_chart(
        "Nodes up per hour", data.hour_starts, [("nodes up", "s-up", data.nodes_up)]
    )
    probes_chart = charts.bar_chart(
        "Probes per hour",
        data.hour_starts,
        [("passed", "s-ok", data.probes_ok), ("failed", "s-bad", data.probes_failed)],
    )
    audience = env.audience.streams()
    return render(
        request,
        "overview.html",
        {
            "o": data,
            "streams": streams,
            "audience": audience,
            "nodes_chart": nodes_chart,
            "probes_chart": probes_chart,
            "shared": await queries.shared_on_page_load(db, now, is_live_refresh(request)),
            "why_one_share": shared_addresses.WHY_ONE_SHARE,
            "back": "overview",
        },
    )
