"""The dashboard's routes; `install(app)` is the coordinator app's extension hook."""

from datetime import timedelta

from fastapi import FastAPI

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add the dashboard to the coordinator's app, wired to its database and admin token."""
    from coordinator_service import dashboard
    from coordinator_service.api.state import context

    ctx = context(app)
    grace: timedelta = ctx.grace
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
