"""The host's web dashboard at `/` and the public watch and leaderboard pages.

`install_dashboard(app, env)` adds the pages, their static files and the sign-in redirects to
an app; `warm_overview(env)` is a background job counting the overview's past day once at start.
"""

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from coordinator_service.app_state import attach
from coordinator_service.dashboard import queries, stats
from coordinator_service.dashboard.env import DashboardEnv
from coordinator_service.dashboard.web import (
    HERE,
    CsrfRefusedError,
    LoginRequiredError,
    apply_headers,
    render,
)

__all__ = ["DashboardEnv", "install_dashboard", "warm_overview"]

logger = logging.getLogger(__name__)

STATIC_PATH = "/dashboard/static"


async def _on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequiredError)
    response = RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)
    apply_headers(request, response)
    return response


async def _on_csrf_refused(request: Request, exc: Exception) -> Response:
    response = render(request, "refused.html", status_code=403)
    apply_headers(request, response)
    return response


def install_dashboard(app: FastAPI, env: DashboardEnv) -> None:
    """Add the dashboard to `app`; include it after the API and `/watch/{stream}.m3u8`."""
    from coordinator_service.dashboard.routes import (
        auth,
        invites,
        nodes,
        overview,
        payouts,
        public,
        streams,
    )

    attach(app, env)
    app.add_exception_handler(LoginRequiredError, _on_login_required)
    app.add_exception_handler(CsrfRefusedError, _on_csrf_refused)
    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="dashboard-static")
    for module in (auth, overview, streams, nodes, invites, payouts, public):
        app.include_router(module.router)
    app.include_router(public.api_router)


async def warm_overview(env: DashboardEnv) -> None:
    """Count the overview's past 24 hours once at start, so no visitor waits for it."""
    try:
        async with env.session() as db:
            await stats.overview(db, queries.utcnow(), env.silent_after_s, env.hours)
    except Exception:  # a cold cache only makes the first overview slower
        logger.warning("could not pre-count the overview's last 24 hours", exc_info=True)
