"""The prober as a background job of the coordinator app (the app assembles it in `api/app.py`)."""

import asyncio
from collections.abc import Mapping
from datetime import datetime

from coordinator_service.config import Settings
from coordinator_service.prober.audits import AuditRunner
from coordinator_service.prober.origin import StreamIndex
from coordinator_service.prober.scheduler import Prober, ProberSettings
from coordinator_service.storage.db import Database

__all__ = ["run_prober"]


async def run_prober(
    db: Database,
    settings: Settings,
    auditors: Mapping[str, datetime] | None = None,
    origins: dict[str, StreamIndex] | None = None,
) -> None:
    """Watch origins, probe nodes and run peer audits until cancelled.

    `auditors`: the nodes that lately announced they audit (heartbeats fill it), and when.
    `origins`: shares the origin indexes (the watch playlist reads the origin's variants).
    """
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
    if origins is not None:
        prober.watcher.indexes = origins
    beating_window_s = max(1.5 * settings.heartbeat_interval, settings.heartbeat_interval + 1)
    audits = AuditRunner(
        db.transaction,
        lambda: prober.watcher.indexes,
        lambda: prober.origins,
        (lambda: auditors) if auditors is not None else None,
        audit_interval_s=settings.probe_interval,
        relaying_window_s=settings.grace_seconds,
        beating_window_s=beating_window_s,
    )
    await prober.start()
    await audits.start()
    try:
        await asyncio.Event().wait()
    finally:
        await audits.stop()
        await prober.stop()
