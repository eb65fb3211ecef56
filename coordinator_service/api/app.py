"""`create_app(settings)`: the coordinator's FastAPI app, its lifespan and its extension points.

Extension points (other parts of the coordinator plug in without editing this file much):
- `EXTENSIONS` names modules that are loaded when they exist. A module may define `router`
  (an APIRouter, included as is) and/or `install(app: FastAPI) -> None` (called once; it may add
  routers and append background jobs to `context(app).background`).
- A background job is `async def job(ctx: AppContext) -> None`, running for the app's lifetime:
  started after migrations, cancelled at shutdown. Example (one line in an `install`):
  `context(app).background.append(run_prober)`.
"""

import asyncio
import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from types import ModuleType

from fastapi import FastAPI

from coordinator_service import __version__
from coordinator_service.api.errors import install_error_handlers
from coordinator_service.api.limits_middleware import BodySizeLimit
from coordinator_service.api.metrics import Metrics, MetricsMiddleware
from coordinator_service.api.ratelimit import RateLimits
from coordinator_service.api.routes import (
    admin,
    health,
    invites,
    join,
    nodes,
    reachability,
    streams,
)
from coordinator_service.api.state import AppContext, context
from coordinator_service.config import Settings
from coordinator_service.services.admin_token import ensure_admin_token, ensure_data_dir
from coordinator_service.services.app_settings import PUBLIC_URL, put_settings
from coordinator_service.services.heartbeats import CatalogCache, HeartbeatRecorder
from coordinator_service.storage.db import Database

__all__ = ["EXTENSIONS", "create_app"]

logger = logging.getLogger(__name__)

# Optional modules of other parts; each is loaded only when it exists (see the module docstring).
EXTENSIONS = [
    "coordinator_service.api.routes.payouts",
    "coordinator_service.api.routes.watch",
    "coordinator_service.api.routes.watch_reports",
    "coordinator_service.api.routes.leaderboard",
    "coordinator_service.api.routes.hooks",
    "coordinator_service.prober.service",
    "coordinator_service.dashboard.routes",
    "coordinator_service.relay_tls.service",
]


def _optional(name: str) -> ModuleType | None:
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:  # a parent package is missing
        return None
    return importlib.import_module(name)


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


def create_app(settings: Settings) -> FastAPI:
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
    app = FastAPI(
        title="StreamrP2P coordinator",
        version=__version__,
        description="Registers friends' relay nodes, hears their heartbeats, checks and pays them.",
        lifespan=_lifespan,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    for module in (nodes, reachability, streams, invites, admin, join, health):
        for name in ("router", "admin_router"):
            router = getattr(module, name, None)
            if router is not None:
                app.include_router(router)
    for name in EXTENSIONS:
        extension = _optional(name)
        if extension is None:
            continue
        if getattr(extension, "router", None) is not None:
            app.include_router(extension.router)
        install = getattr(extension, "install", None)
        if install is not None:
            install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)
    return app
