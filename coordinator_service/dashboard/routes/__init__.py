"""The dashboard's routes; `install(app)` is the coordinator app's extension hook."""

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import FastAPI

if TYPE_CHECKING:
    from coordinator_service.api.state import AppContext

__all__ = ["install"]

logger = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    """Add the dashboard to the coordinator's app, wired to its database and admin token."""
    from coordinator_service import dashboard
    from coordinator_service.api.state import context

    ctx = context(app)
    grace: timedelta = ctx.grace
    hour_cache: dict[int, tuple[int, int, int]] = {}
    app.state.dashboard_hours = hour_cache

    async def warm_overview(job_ctx: "AppContext") -> None:
        """Count the overview's past 24 hours once at start, so no visitor waits for it."""
        from coordinator_service.dashboard import queries, stats

        try:
            async with job_ctx.db.session() as db:
                await stats.overview(db, queries.utcnow(), grace.total_seconds(), hour_cache)
        except Exception:  # a cold cache only makes the first overview slower
            logger.warning("could not pre-count the overview's last 24 hours", exc_info=True)

    ctx.background.append(warm_overview)
    dashboard.install(
        app,
        dashboard.DashboardEnv(
            data_dir=ctx.settings.data_dir,
            session=ctx.db.session,
            transaction=ctx.db.transaction,
            admin_token=lambda: ctx.admin_token,
            silent_after_s=grace.total_seconds(),
            public_url=ctx.settings.public_url,
        ),
    )
