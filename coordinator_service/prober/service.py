"""The prober as a background job of the coordinator app (the app assembles it in `api/app.py`)."""

import asyncio

from coordinator_service.config import Settings
from coordinator_service.prober.origin import StreamIndex
from coordinator_service.prober.scheduler import Prober, ProberSettings
from coordinator_service.storage.db import Database

__all__ = ["run_prober"]


async def run_prober(
    db: Database, settings: Settings, origins: dict[str, StreamIndex] | None = None
) -> None:
    """Watch origins and probe nodes until cancelled; `origins` shares the origin indexes."""
    prober = Prober(
        db.transaction,
        ProberSettings(
            probe_interval_s=settings.probe_interval,
            allow_private_relays=settings.allow_private_relays,
            relay_ca_file=settings.relay_ca_file,
            relay_domain=settings.relay_domain,
            public_url=settings.public_url,
            listen_host=settings.host,
            relaying_window_s=settings.grace_seconds,
            beating_window_s=max(
                1.5 * settings.heartbeat_interval, settings.heartbeat_interval + 1
            ),
        ),
        read_sessions=db.session,
    )
    if origins is not None:  # the watch playlist reads the origin's variants from them
        prober.watcher.indexes = origins
    await prober.start()
    try:
        await asyncio.Event().wait()
    finally:
        await prober.stop()
