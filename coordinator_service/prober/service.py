"""Plug the prober into the coordinator app: a background job for the app's lifetime."""

import asyncio

from fastapi import FastAPI

from coordinator_service.api.state import AppContext, context
from coordinator_service.prober.scheduler import Prober, ProberSettings

__all__ = ["install", "run_prober"]


async def run_prober(ctx: AppContext) -> None:
    """Watch origins and probe nodes until cancelled."""
    prober = Prober(
        ctx.db.transaction,
        ProberSettings(
            probe_interval_s=ctx.settings.probe_interval,
            allow_private_relays=ctx.settings.allow_private_relays,
            relaying_window_s=ctx.settings.grace_seconds,
            beating_window_s=max(
                1.5 * ctx.settings.heartbeat_interval, ctx.settings.heartbeat_interval + 1
            ),
        ),
        read_sessions=ctx.db.session,
    )
    prober.watcher.indexes = ctx.origins  # the watch playlist reads the origin's variants
    await prober.start()
    try:
        await asyncio.Event().wait()
    finally:
        await prober.stop()


def install(app: FastAPI) -> None:
    """Register the prober as a background job of `app`."""
    context(app).background.append(run_prober)
