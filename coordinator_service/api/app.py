"""`create_app(settings)`: the one place the coordinator's web app is assembled.

Everything the app runs is listed here by plain imports, so a typo fails at import, not silently:
- `ROUTERS`: every API router, in order (the dashboard's pages are added after them).
- `background_jobs(dashboard)`: coroutine functions of the context, run for the app's lifetime
  (started after migrations, cancelled at shutdown); a part's job takes what it needs, never
  the context.
- Typed state: the `AppContext` (api/state.py) and the `DashboardEnv` are attached with
  `app_state.attach`; nothing else is kept on `app.state`.
To add a router: import its module and list its router in `ROUTERS`. To add a job: one line in
`background_jobs`. Feature packages never import `api/` (tests/test_architecture.py checks).
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI

from coordinator_service import __version__
from coordinator_service.api.errors import install_error_handlers
from coordinator_service.api.fast_path import CoordinatorApp, FastRoute
from coordinator_service.api.limits_middleware import BodySizeLimit
from coordinator_service.api.metrics import Metrics, MetricsMiddleware
from coordinator_service.api.ratelimit import RateLimits
from coordinator_service.api.routes import (
    addresses,
    admin,
    audits,
    health,
    hooks,
    invites,
    join,
    leaderboard,
    nodes,
    payouts,
    reachability,
    relay_tls,
    streams,
    watch,
    watch_reports,
)
from coordinator_service.api.routes.nodes import HEARTBEAT_PATH
from coordinator_service.api.state import AppContext, BackgroundJob, context
from coordinator_service.app_state import attach
from coordinator_service.config import Settings
from coordinator_service.dashboard import DashboardEnv, install_dashboard, warm_overview
from coordinator_service.prober.service import run_prober
from coordinator_service.relay_tls.service import RelayTls, relay_tls_for, run_relay_tls
from coordinator_service.services.admin_token import ensure_admin_token, ensure_data_dir
from coordinator_service.services.app_settings import PUBLIC_URL, put_settings
from coordinator_service.services.heartbeats import CatalogCache, HeartbeatRecorder
from coordinator_service.storage.db import Database

__all__ = ["ROUTERS", "background_jobs", "create_app"]

logger = logging.getLogger(__name__)

ROUTERS: tuple[APIRouter, ...] = (
    nodes.router,
    reachability.router,
    streams.router,
    streams.admin_router,
    invites.router,
    admin.router,
    addresses.router,
    join.router,
    health.router,
    payouts.router,
    payouts.node_router,
    watch.router,
    watch_reports.router,
    audits.router,
    leaderboard.router,
    hooks.router,
    relay_tls.router,
)


def background_jobs(dashboard: DashboardEnv, tls: RelayTls | None) -> list[BackgroundJob]:
    """Every job the app runs for its lifetime (each a coroutine function of the context)."""

    async def prober(ctx: AppContext) -> None:
        await run_prober(ctx.db, ctx.settings, ctx.auditors, ctx.origins)

    async def overview_cache(ctx: AppContext) -> None:
        await warm_overview(dashboard)

    async def relay_certificates(ctx: AppContext) -> None:
        if tls is not None:  # only with a relay domain (--relay-domain)
            await run_relay_tls(ctx.db, ctx.settings, tls)

    return [prober, overview_cache, relay_certificates]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx = context(app)
    ensure_data_dir(ctx.settings.data_dir)
    ctx.admin_token = ensure_admin_token(ctx.settings.admin_token_path)
    await ctx.db.migrate()
    async with ctx.db.transaction() as session:
        await put_settings(session, {PUBLIC_URL: ctx.settings.public_url})
    await ctx.recorder.start()
    tasks = [
        asyncio.create_task(job(ctx), name=getattr(job, "__name__", "background"))
        for job in ctx.background
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                logger.exception("background job %s failed", task.get_name())
        await ctx.recorder.stop()
        await ctx.db.dispose()


def create_app(settings: Settings) -> CoordinatorApp:
    """Build the app; the database is migrated and jobs start when its lifespan starts."""
    db = Database(settings.database_url)
    catalog = CatalogCache(db)
    ctx = AppContext(
        settings=settings,
        db=db,
        metrics=Metrics(),
        limits=RateLimits(settings),
        catalog=catalog,
        recorder=HeartbeatRecorder(db, catalog, timedelta(seconds=settings.grace_seconds)),
    )
    app = CoordinatorApp(
        title="StreamrP2P coordinator",
        version=__version__,
        description="Registers friends' relay nodes, hears their heartbeats, checks and pays them.",
        lifespan=_lifespan,
    )
    attach(app, ctx)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    dashboard = DashboardEnv(
        data_dir=settings.data_dir,
        session=db.session,
        transaction=db.transaction,
        admin_token=lambda: ctx.admin_token,
        sign_in_limit=lambda ip: ctx.limits.hit("register", ip),
        silent_after_s=ctx.grace.total_seconds(),
        public_url=settings.public_url,
        audience=ctx.metrics.audience,
    )
    install_dashboard(app, dashboard)
    tls = relay_tls_for(settings, db)
    if tls is not None:
        attach(app, tls)
    ctx.background.extend(background_jobs(dashboard, tls))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)
    # in front of all of the above: the heartbeat does its own size limit and metrics
    app.fast_route = FastRoute(
        app,
        nodes.router,
        HEARTBEAT_PATH,
        metrics=ctx.metrics,
        max_body_bytes=settings.max_body_bytes,
    )
    return app
